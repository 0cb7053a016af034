from django.conf import settings
from django.db.models.signals import pre_delete
from django.dispatch import receiver

from .services import votes_withdraw_all


@receiver(pre_delete, sender=settings.AUTH_USER_MODEL, dispatch_uid="setlists-user-votes")
def withdraw_votes_of_deleted_user(sender, instance, **kwargs):
    """Keep tallies exact however a user is deleted (admin, shell, data deletion requests)."""
    votes_withdraw_all(user=instance)
