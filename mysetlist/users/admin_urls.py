"""The admin's log-in page, mounted ahead of admin.site.urls so that its failed attempts are
limited like the site's log-in."""

from django.urls import path

from . import views

urlpatterns = [path("", views.admin_login)]
