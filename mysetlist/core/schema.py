"""Shared pieces of the OpenAPI description."""

from drf_spectacular.utils import OpenApiResponse, inline_serializer
from rest_framework import serializers

ErrorSerializer = inline_serializer(
    name="Error",
    fields={"message": serializers.CharField(), "extra": serializers.DictField()},
)


def errors(*codes: int) -> dict[int, OpenApiResponse]:
    descriptions = {
        400: "Invalid input; `extra.fields` names each bad field.",
        401: "Not logged in.",
        403: "Not allowed.",
        404: "Not found.",
        429: "Too many requests.",
    }
    return {
        code: OpenApiResponse(response=ErrorSerializer, description=descriptions[code])
        for code in codes
    }
