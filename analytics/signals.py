from django.conf import settings
from django.contrib.auth.signals import user_logged_in
from django.db.models.signals import pre_delete
from django.dispatch import receiver

from analytics.lifecycle.erasure import erasure_request_create
from analytics.services import distinct_id_link


@receiver(user_logged_in, dispatch_uid="analytics-link-distinct-id")
def link_anonymous_id(sender, request, user, **kwargs):
    """The visitor who was anonymous until now is this user."""
    if request is not None:
        distinct_id = request.COOKIES.get(settings.ANALYTICS_DISTINCT_ID_COOKIE)
        if distinct_id:
            distinct_id_link(distinct_id=distinct_id, user=user)


@receiver(pre_delete, sender=settings.AUTH_USER_MODEL, dispatch_uid="analytics-erase-user")
def erase_events_of_deleted_user(sender, instance, **kwargs):
    """However a user is deleted, their events follow (in the background: it is a scan)."""
    erasure_request_create(user=instance)
