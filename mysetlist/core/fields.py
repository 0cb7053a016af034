"""Serializer fields the apps' APIs share."""

from rest_framework import serializers


class NumberField(serializers.FloatField):
    """A float that is written as a number: true and false are refused, not read as 1 and 0."""

    def to_internal_value(self, data):
        if isinstance(data, bool):
            self.fail("invalid")
        return super().to_internal_value(data)
