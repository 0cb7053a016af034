"""Notifications listen to the setlist domain; the domain does not know they exist."""

from django.db.models.signals import post_save
from django.dispatch import receiver

from mysetlist.setlists.events import show_status_changed, vote_recorded
from mysetlist.setlists.models import Show, Vote

from .engagement import conversions_record
from .triggers import show_created_trigger, show_status_trigger


@receiver(show_status_changed, sender=Show, dispatch_uid="notifications-show-status")
def show_status_notify(sender, show, status, previous, **kwargs):
    show_status_trigger(show=show, status=status)


@receiver(post_save, sender=Show, dispatch_uid="notifications-show-created")
def show_created_notify(sender, instance, created, raw=False, **kwargs):
    if created and not raw:
        show_created_trigger(show=instance)


@receiver(vote_recorded, sender=Vote, dispatch_uid="notifications-vote-conversion")
def vote_converts(sender, user, show, **kwargs):
    conversions_record(user_id=user.pk, show_id=show.pk)
