"""Figures of the notifications dashboard as plain plotly figure dicts (data + layout), built
from the frozen dataclasses of `metrics`. Pure: imports nothing from Django, so a figure is
tested without a database and drawn in the page by one static script."""

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # for the annotations only
    from notifications.metrics.results import DayVolume

# One colour per channel, the same on every chart; a channel not listed gets grey.
CHANNEL_COLOURS = {"email": "#1f77b4", "push": "#ff7f0e", "in_app": "#2ca02c", "sms": "#9467bd"}
NOTIFICATIONS_COLOUR = "#1d1d28"
OTHER_COLOUR = "#7f7f7f"


def volume_figure(days: Sequence["DayVolume"], *, labels: Mapping[str, str] | None = None) -> dict:
    """Return a figure of deliveries a day stacked by channel, with notifications a day as a
    line over them. `labels` names the channels (their values otherwise)."""
    labels = labels or {}
    x = [volume.day.isoformat() for volume in days]
    channels = list(days[0].by_channel) if days else []
    data: list[dict] = [
        {
            "type": "bar",
            "name": labels.get(channel, channel),
            "x": x,
            "y": [volume.by_channel.get(channel, 0) for volume in days],
            "marker": {"color": CHANNEL_COLOURS.get(channel, OTHER_COLOUR)},
            "hovertemplate": "%{x}: %{y}<extra>%{fullData.name}</extra>",
        }
        for channel in channels
    ]
    data.append(
        {
            "type": "scatter",
            "mode": "lines+markers",
            "name": "Notifications",
            "x": x,
            "y": [volume.notifications for volume in days],
            "line": {"color": NOTIFICATIONS_COLOUR},
            "marker": {"color": NOTIFICATIONS_COLOUR},
        }
    )
    return {
        "data": data,
        "layout": {
            "title": {"text": "Deliveries by channel and notifications, a day (UTC)"},
            "barmode": "stack",
            "xaxis": {"type": "category", "title": {"text": "Day"}},
            "yaxis": {"title": {"text": "Count"}, "rangemode": "tozero"},
            "legend": {"orientation": "h"},
            "margin": {"l": 48, "r": 16, "t": 48, "b": 48},
        },
    }
