from rest_framework.settings import api_settings


def client_ip(request) -> str:
    """Return the client's address as the nearest trusted proxy saw it.

    Trusts as many X-Forwarded-For entries, counted from the right, as there are proxies
    (REST_FRAMEWORK["NUM_PROXIES"]); entries further left are the client's to invent.
    """
    remote = request.META.get("REMOTE_ADDR", "")
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    proxies = api_settings.NUM_PROXIES or 0
    if proxies and forwarded:
        addresses = [address.strip() for address in forwarded.split(",")]
        return addresses[-min(proxies, len(addresses))]
    return remote
