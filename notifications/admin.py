from django.contrib import admin

from mysetlist.core.admin import ReadOnlyAdminMixin

from .models import (
    Delivery,
    Notification,
    NotificationPreference,
    NotificationTemplate,
    PushSubscription,
)


class DeliveryInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = Delivery
    fk_name = "notification"
    extra = 0
    fields = ["channel", "status", "not_before", "attempts", "sent_at", "provider", "response"]
    readonly_fields = fields


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["id", "user", "category", "urgent", "created_at", "read_at"]
    list_filter = ["category", "urgent"]
    search_fields = ["user__username", "key"]
    list_select_related = ["user"]
    raw_id_fields = ["user"]
    inlines = [DeliveryInline]


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["id", "notification", "channel", "status", "not_before", "attempts", "provider"]
    list_filter = ["status", "channel", "provider"]
    search_fields = ["provider_message_id", "notification__user__username"]
    raw_id_fields = ["notification"]


@admin.register(NotificationPreference)
class NotificationPreferenceAdmin(admin.ModelAdmin):
    list_display = ["user", "digest", "daily_cap", "quiet_start", "quiet_end", "unsubscribed_all"]
    list_filter = ["digest", "unsubscribed_all"]
    search_fields = ["user__username", "user__email"]
    raw_id_fields = ["user"]


@admin.register(PushSubscription)
class PushSubscriptionAdmin(admin.ModelAdmin):
    list_display = ["user", "created_at"]
    search_fields = ["user__username"]
    raw_id_fields = ["user"]


@admin.register(NotificationTemplate)
class NotificationTemplateAdmin(admin.ModelAdmin):
    list_display = ["category", "locale", "version", "is_active", "subject", "created_at"]
    list_filter = ["category", "locale", "is_active"]
