from django.conf import settings

from analytics.selectors import web_tracker_key_get


def tracker(request):
    """What the tracker script in base.html needs: its public key and cookie names."""
    return {
        "tracker_key": web_tracker_key_get(),
        "tracker_distinct_cookie": settings.ANALYTICS_DISTINCT_ID_COOKIE,
        "tracker_consent_cookie": settings.ANALYTICS_CONSENT_COOKIE,
    }
