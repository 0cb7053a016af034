"""The project's URL confs: every module it mounts has routes."""

from django.urls import URLResolver, get_resolver


def mounted(resolver: URLResolver, prefix: str = ""):
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver):
            yield prefix + str(pattern.pattern), pattern
            yield from mounted(pattern, prefix + str(pattern.pattern))


# Mounted whatever it holds: the configured EMAIL_PROVIDER's webhooks, none for this suite's.
BY_SETTINGS = {"anymail/"}


def test_every_mounted_url_module_has_routes():
    empty = [
        route
        for route, resolver in mounted(get_resolver())
        if not resolver.url_patterns and route not in BY_SETTINGS
    ]

    assert empty == []
