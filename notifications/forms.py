import zoneinfo

from django import forms
from django.utils import timezone

from notifications.metrics import queries as metrics
from notifications.models import STAFF_CATEGORIES, Category, Channel, NotificationPreference

UPDATABLE = [
    "quiet_start", "quiet_end", "daily_cap", "digest", "digest_hour", "unsubscribed_all",
    "sms_number",
]  # fmt: skip
PAIRS = [
    (f"{category}:{channel}", f"{category.label}: {channel.label}")
    for category in Category
    for channel in Channel
]
FAN_PAIRS = [pair for pair in PAIRS if pair[0].split(":")[0] not in STAFF_CATEGORIES]


def time_zone_names() -> list[str]:
    """Return the IANA time zone names this server knows, sorted."""
    return sorted(zoneinfo.available_timezones())


class TimeZoneNameField(forms.CharField):
    """An IANA time zone name ("Europe/Berlin"), cleaned to its ZoneInfo; empty is None."""

    def clean(self, value):
        name = super().clean(value)
        if not name:
            return None
        if name not in zoneinfo.available_timezones():
            raise forms.ValidationError(
                "%(name)s is not a time zone name. Use a name like Europe/Berlin, "
                "America/New_York or UTC.",
                code="unknown_time_zone",
                params={"name": f"“{name[:64]}”"},
            )
        return zoneinfo.ZoneInfo(name)


class PreferenceForm(forms.Form):
    """The preferences page's fields; what it asks for is saved by preference_update, as
    the API's is, so what was waiting on a channel turned off is dropped either way."""

    # The page draws these: the time zone with its quiet hours, the grid, then the rest.
    WHEN = ("timezone", "quiet_start", "quiet_end", "daily_cap")
    DIGEST = ("digest", "digest_hour")
    CONTACT = ("unsubscribed_all", "sms_number")

    enabled = forms.MultipleChoiceField(
        choices=PAIRS,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Send me",
        help_text="Untick what you do not want, category by category and channel by channel.",
    )
    timezone = TimeZoneNameField(
        required=False,
        max_length=64,
        label="Time zone",
        help_text="Quiet hours, the daily cap and the digest hour follow this zone's clock.",
        widget=forms.TextInput(
            attrs={"list": "time-zone-names", "autocomplete": "off", "spellcheck": "false"}
        ),
    )
    quiet_start = forms.TimeField(
        required=False, label="Quiet from", widget=forms.TimeInput(attrs={"type": "time"})
    )
    quiet_end = forms.TimeField(
        required=False,
        label="Quiet until",
        help_text="Nothing non-urgent arrives between these times; leave both empty for none.",
        widget=forms.TimeInput(attrs={"type": "time"}),
    )
    daily_cap = forms.IntegerField(
        required=False, min_value=0, max_value=1000, label="Most a day",
        help_text="most non-urgent notifications a local day; empty: no cap",
    )  # fmt: skip
    digest = forms.ChoiceField(choices=NotificationPreference.Digest.choices)
    digest_hour = forms.IntegerField(help_text="local hour a digest goes out")
    unsubscribed_all = forms.BooleanField(
        required=False, label="No email at all", help_text="from every email"
    )
    sms_number = forms.CharField(
        required=False, max_length=20, label="SMS number", help_text="for example +4930123456"
    )

    @classmethod
    def for_preference(cls, preference: NotificationPreference, data=None) -> "PreferenceForm":
        """Return the form for `preference`, bound to `data` if given."""
        off = set(preference.disabled or [])
        pairs = PAIRS if preference.user.is_staff else FAN_PAIRS
        initial = {
            "enabled": [pair for pair, _ in pairs if pair not in off],
            "timezone": str(preference.user.timezone),
            **{name: getattr(preference, name) for name in UPDATABLE},
        }
        form = cls(data, initial=initial)
        form.pairs = pairs
        form.fields["enabled"].choices = pairs
        return form

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

    def update(self) -> dict:
        """Return the keyword arguments of preference_update for what the form says."""
        enabled = set(self.cleaned_data["enabled"])
        channels: dict[str, dict[str, bool]] = {}
        for pair, _ in getattr(self, "pairs", PAIRS):
            category, channel = pair.split(":")
            channels.setdefault(category, {})[channel] = pair in enabled
        return {"channels": channels, "timezone": self.cleaned_data["timezone"]} | {
            name: self.cleaned_data[name] for name in UPDATABLE
        }

    def channel_grid(self) -> dict:
        """Return the choices as a table: a row per category, a column per channel, each
        cell the checkbox's value, label and state as the form now stands."""
        checked = set(self["enabled"].value() or [])
        offered = {pair for pair, _ in getattr(self, "pairs", PAIRS)}
        channels = [c for c in Channel if any(p.endswith(f":{c}") for p in offered)]
        rows = []
        for category in Category:
            cells = [
                {
                    "value": pair,
                    "id": f"id_enabled_{category}_{channel}",
                    "label": f"{category.label}: {channel.label}",
                    "checked": pair in checked,
                }
                for channel in channels
                if (pair := f"{category}:{channel}") in offered
            ]
            if cells:
                rows.append({"category": category.label, "cells": cells})
        return {"channels": [channel.label for channel in channels], "rows": rows}

    @property
    def groups(self) -> dict[str, list]:
        """Return the bound fields other than the grid, by the fieldset the page puts them in."""
        return {
            name: [self[field] for field in fields]
            for name, fields in (("when", self.WHEN), ("digest", self.DIGEST),
                                 ("contact", self.CONTACT))
        }  # fmt: skip


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
