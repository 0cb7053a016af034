"""What a metric can be broken down by: a property of the event, or a key of its context."""

from django.db.models.fields.json import KeyTextTransform, KeyTransform

from analytics.rollups.cells import DIMENSIONS
from mysetlist.core.exceptions import ApplicationError

SOURCES = ("properties", "context")
BREAKDOWN_HELP = (
    "A property of the event (show_id, or properties.<key>) or a key of its context "
    "(context.<key>, such as context.device_type, context.locale or context.page.path); "
    "dots after properties. or context. go into nested objects."
)


def breakdown_path(breakdown: str) -> tuple[str, list[str]]:
    """Return the JSON field and the keys into it a breakdown names: `show_id` and
    `properties.show_id` are the property, `context.device_type` the context's key."""
    source, dot, rest = breakdown.partition(".")
    if not dot:
        source, rest = "properties", breakdown
    keys = rest.split(".")
    if source not in SOURCES or not all(keys):
        raise ApplicationError(
            f"Unknown breakdown {breakdown!r}. {BREAKDOWN_HELP}",
            {"fields": {"breakdown": [BREAKDOWN_HELP]}},
        )
    return source, keys


def breakdown_value(breakdown: str) -> KeyTextTransform:
    """The breakdown's value of each event, as text (NULL where the event has none)."""
    source, keys = breakdown_path(breakdown)
    field = source
    for key in keys[:-1]:
        field = KeyTransform(key, field)
    return KeyTextTransform(keys[-1], field)


def rollup_dimension(breakdown: str | None) -> str | None:
    """The rollup dimension that holds the breakdown ("" for none), or None if no rollup
    does and it must be read from raw events."""
    if breakdown is None:
        return ""
    source, keys = breakdown_path(breakdown)
    if source == "properties" and len(keys) == 1 and keys[0] in DIMENSIONS:
        return keys[0]
    return None
