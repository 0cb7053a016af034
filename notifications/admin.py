from django import forms
from django.contrib import admin
from django.template import TemplateSyntaxError, engines
from django.utils.html import format_html, format_html_join

from mysetlist.core.admin import ReadOnlyAdminMixin
from notifications.content.rendering import PARTS, render
from notifications.content.templates import sample_context, template_save_version
from notifications.content.variables import VARIABLES, template_unknown_variables, variables_of
from notifications.models import (
    Delivery,
    Notification,
    NotificationPreference,
    NotificationTemplate,
    PushSubscription,
    TrackingEvent,
    Trigger,
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


class NotificationTemplateForm(forms.ModelForm):
    class Meta:
        model = NotificationTemplate
        fields = ["category", "locale", "is_active", *PARTS]

    def clean(self):
        data = super().clean()
        engine = engines["django"]
        category = data.get("category")
        for part in PARTS:
            source = data.get(part) or ""
            try:
                engine.from_string(source)
            except TemplateSyntaxError as error:
                self.add_error(part, f"This template does not compile: {error}")
                continue
            if category in VARIABLES:
                unknown = template_unknown_variables(category=category, source=source)
                if unknown:
                    names = ", ".join(unknown)
                    takes = ", ".join(v.name for v in variables_of(category))
                    self.add_error(
                        part,
                        f"Unknown variable{'s' if len(unknown) > 1 else ''} {names}: "
                        f"a {category} template takes {takes}.",
                    )
        return data


@admin.register(NotificationTemplate)
class NotificationTemplateAdmin(admin.ModelAdmin):
    """Saving a template makes a new version; the newest active one of a category and locale
    is sent, and each delivery records the version it got. To go back, untick "active" on
    the newer version."""

    form = NotificationTemplateForm
    list_display = [
        "category", "locale", "variant", "version", "is_active", "subject", "created_at"
    ]  # fmt: skip
    list_filter = ["category", "locale", "is_active"]
    search_fields = ["subject"]
    readonly_fields = ["variables", "version", "created_at", "preview"]

    def get_fields(self, request, obj=None):
        fields = ["category", "locale", "variant", "is_active", "variables", *PARTS]
        return [*fields, "version", "created_at", "preview"] if obj else fields

    @admin.display(description="Variables it takes")
    def variables(self, obj):
        """The variables of the template's category (of each category, on a new one)."""
        categories = [obj.category] if obj and obj.category else list(VARIABLES)
        return format_html_join(
            "",
            "<p><b>{}</b>: {}</p>",
            (
                (
                    category,
                    "; ".join(
                        f"{v.name} ({v.help}{', required' if v.required else ''})"
                        for v in variables_of(category)
                    ),
                )
                for category in categories
            ),
        )

    def save_model(self, request, obj, form, change):
        template_save_version(template=obj)

    @admin.display(description="Preview with sample data")
    def preview(self, obj):
        words = render(obj.category, sample_context(obj.category), obj)
        return format_html(
            "<p><b>Subject:</b> {}</p><p><b>Push:</b> {} — {}</p><p><b>In-app:</b> {}</p>"
            '<pre style="white-space:pre-wrap">{}</pre>'
            '<iframe sandbox srcdoc="{}" style="width:100%;height:14em;border:1px solid #ccc">'
            "</iframe><p>Rendered in {} ms.</p>",
            words.subject, words.push_title, words.push_body, words.in_app_text, words.text,
            words.html, f"{words.render_ms:.2f}",
        )  # fmt: skip


@admin.register(Trigger)
class TriggerAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["key", "category", "show", "created_at", "done_at", "notified"]
    list_filter = ["category"]
    search_fields = ["key"]
    list_select_related = ["show__artist", "show__venue"]


@admin.register(TrackingEvent)
class TrackingEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["provider", "event_type", "message_id", "occurred_at", "applied_at"]
    list_filter = ["provider", "event_type"]
    search_fields = ["message_id", "event_id"]
