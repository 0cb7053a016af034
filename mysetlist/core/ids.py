"""Database ids from the outside world: in range, or refused before any query runs."""

from rest_framework import serializers

ID_MAX = 2**63 - 1  # a BigAutoField; SQLite raises OverflowError beyond it


class IdConverter:
    """A URL id of at most 18 digits, always within ID_MAX; anything longer is a 404."""

    regex = "[0-9]{1,18}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: int) -> str:
        return str(value)


def IdField(**kwargs) -> serializers.IntegerField:  # noqa: N802 - reads like a field class
    return serializers.IntegerField(min_value=1, max_value=ID_MAX, **kwargs)


def parse_id(value) -> int | None:
    """Return value as an id, or None when it is not one."""
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if 1 <= number <= ID_MAX else None
