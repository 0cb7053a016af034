from django.conf import settings
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver

from .services import distinct_id_link


@receiver(user_logged_in, dispatch_uid="analytics-link-distinct-id")
def link_anonymous_id(sender, request, user, **kwargs):
    """The visitor who was anonymous until now is this user."""
    if request is not None:
        distinct_id = request.COOKIES.get(settings.ANALYTICS_DISTINCT_ID_COOKIE)
        if distinct_id:
            distinct_id_link(distinct_id=distinct_id, user=user)
