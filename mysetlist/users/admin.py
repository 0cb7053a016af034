from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from .models import User


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    fieldsets = [*BaseUserAdmin.fieldsets, ("Preferences", {"fields": ["timezone"]})]
    list_display = ["username", "email", "is_staff", "date_joined"]
