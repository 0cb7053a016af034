from rest_framework.settings import api_settings


def client_ip(request) -> str:
    """Return the request's client address (see meta_client_ip); django-ratelimit calls this."""
    return meta_client_ip(request.META)


def meta_client_ip(meta) -> str:
    """Return the client's address as the nearest trusted proxy saw it, from request META or
    a WSGI environ.

    Trusts as many X-Forwarded-For entries, counted from the right, as there are proxies
    (REST_FRAMEWORK["NUM_PROXIES"]); entries further left are the client's to invent.
    """
    remote = meta.get("REMOTE_ADDR", "")
    forwarded = meta.get("HTTP_X_FORWARDED_FOR", "")
    proxies = api_settings.NUM_PROXIES or 0
    if proxies and forwarded:
        addresses = [address.strip() for address in forwarded.split(",")]
        return addresses[-min(proxies, len(addresses))]
    return remote
