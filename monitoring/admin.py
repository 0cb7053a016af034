from django import forms
from django.contrib import admin, messages

from mysetlist.core.exceptions import ApplicationError
from mysetlist.users.models import User

from . import services
from .models import Alert, AlertChannel, AlertEvent, AlertRule, Silence


class AlertRuleForm(forms.ModelForm):
    channels = forms.MultipleChoiceField(
        choices=AlertChannel.choices, widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = AlertRule
        fields = sorted(services.RULE_FIELDS) + ["subscribers"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["subscribers"].queryset = User.objects.filter(is_staff=True, is_active=True)
        for name in ("detection", "sensitivity"):  # left out: a threshold rule, as before
            self.fields[name].required = False

    def clean(self):
        cleaned = super().clean()
        for name in ("detection", "sensitivity"):
            if cleaned.get(name) in (None, ""):
                cleaned[name] = AlertRule._meta.get_field(name).default
        return cleaned


@admin.register(AlertRule)
class AlertRuleAdmin(admin.ModelAdmin):
    form = AlertRuleForm
    list_display = [
        "name", "metric", "operator", "threshold", "severity", "group_key", "enabled",
        "last_value", "last_evaluated_at",
    ]  # fmt: skip
    list_filter = ["enabled", "severity", "group_key"]
    search_fields = ["name", "metric", "group_key"]
    filter_horizontal = ["subscribers"]
    readonly_fields = ["last_evaluated_at", "last_value", "created_at"]

    def save_model(self, request, obj, form, change):
        # The services write the rule and its subscribers; the form has checked both.
        data = {
            name: form.cleaned_data[name]
            for name in form.cleaned_data
            if name in services.RULE_FIELDS and (not change or name in form.changed_data)
        }
        subscribers = form.cleaned_data.get("subscribers", [])
        if change:
            services.rule_update(rule=obj, subscribers=subscribers, **data)
        else:
            obj.pk = services.rule_create(subscribers=subscribers, **data).pk

    def save_related(self, request, form, formsets, change):
        pass  # the subscribers were set by the service in save_model


@admin.register(Silence)
class SilenceAdmin(admin.ModelAdmin):
    list_display = ["__str__", "starts_at", "ends_at", "comment", "created_by"]
    list_select_related = ["rule", "created_by"]
    fields = ["rule", "group_key", "starts_at", "ends_at", "comment"]
    actions = ["end_now"]

    def get_readonly_fields(self, request, obj=None):
        return self.fields if obj else []  # a silence is ended, not edited

    def save_model(self, request, obj, form, change):
        if change:
            return
        silence = services.silence_create(
            rule=obj.rule,
            group_key=obj.group_key,
            starts_at=obj.starts_at,
            ends_at=obj.ends_at,
            comment=obj.comment,
            by=request.user,
        )
        obj.pk = silence.pk

    @admin.action(description="End the selected silences now")
    def end_now(self, request, queryset):
        for silence in queryset:
            services.silence_end(silence=silence)
        self.message_user(request, f"{queryset.count()} silence(s) ended.")


class AlertEventInline(admin.TabularInline):
    model = AlertEvent
    fields = ["kind", "at", "value", "silenced", "send", "notified_at", "by"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Alert)
class AlertAdmin(admin.ModelAdmin):
    list_display = [
        "rule", "state", "silenced", "value", "started_at", "fired_at", "acknowledged_by",
        "resolved_at",
    ]  # fmt: skip
    list_filter = ["state", "silenced", "rule__severity"]
    list_select_related = ["rule", "acknowledged_by"]
    search_fields = ["rule__name"]
    inlines = [AlertEventInline]
    actions = ["acknowledge"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False  # alerts move by evaluation; staff acknowledge with the action

    @admin.action(description="Acknowledge the selected firing alerts")
    def acknowledge(self, request, queryset):
        for alert in queryset:
            try:
                services.alert_acknowledge(alert=alert, by=request.user)
            except ApplicationError as exc:
                self.message_user(request, f"{alert.rule}: {exc.message}", messages.ERROR)
            else:
                self.message_user(request, f"{alert.rule}: acknowledged.")


from monitoring.anomalies import admin as anomalies_admin  # noqa: E402, F401  (registers it)
from monitoring.dashboards import admin as dashboards_admin  # noqa: E402, F401
from monitoring.reports import admin as reports_admin  # noqa: E402, F401
from monitoring.voting import admin as voting_admin  # noqa: E402, F401  (registers VoteFlag)
