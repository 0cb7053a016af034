from django import forms

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
