from django import forms
from django.utils import timezone

from . import metrics
from .models import Category, Channel, NotificationPreference

PAIRS = [
    (f"{category}:{channel}", f"{category.label}: {channel.label}")
    for category in Category
    for channel in Channel
]


class PreferenceForm(forms.ModelForm):
    enabled = forms.MultipleChoiceField(
        choices=PAIRS,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Send me",
        help_text="Untick what you do not want, category by category and channel by channel.",
    )

    class Meta:
        model = NotificationPreference
        fields = [
            "quiet_start", "quiet_end", "daily_cap", "digest", "digest_hour",
            "unsubscribed_all", "sms_number",
        ]  # fmt: skip
        widgets = {
            "quiet_start": forms.TimeInput(attrs={"type": "time"}),
            "quiet_end": forms.TimeInput(attrs={"type": "time"}),
        }
        labels = {"unsubscribed_all": "No email at all"}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["enabled"].initial = [
            pair for pair, _ in PAIRS if pair not in set(self.instance.disabled or [])
        ]

    def clean_digest_hour(self):
        hour = self.cleaned_data["digest_hour"]
        if not 0 <= hour <= 23:
            raise forms.ValidationError("An hour from 0 to 23.")
        return hour

    def clean(self):
        data = super().clean()
        if (data.get("quiet_start") is None) != (data.get("quiet_end") is None):
            raise forms.ValidationError("Give quiet hours both a start and an end, or neither.")
        return data

    def save(self, commit=True):
        enabled = set(self.cleaned_data.get("enabled") or [])
        self.instance.disabled = [pair for pair, _ in PAIRS if pair not in enabled]
        return super().save(commit)


class DashboardFilterForm(forms.Form):
    """The dashboard's filters; the window's missing ends get the defaults."""

    date_from = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    channel = forms.ChoiceField(choices=[("", "All channels"), *Channel.choices], required=False)
    category = forms.ChoiceField(
        choices=[("", "All categories"), *Category.choices], required=False
    )

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        data["date_from"], data["date_to"] = metrics.window_with_defaults(
            date_from=data.get("date_from"),
            date_to=data.get("date_to"),
            today=timezone.now().date(),
        )
        for name, message in metrics.window_problems(
            date_from=data["date_from"], date_to=data["date_to"]
        ).items():
            self.add_error(name, message)
        return data
