from django.conf import settings
from django.db.models.signals import post_delete, post_save, pre_delete
from django.dispatch import receiver

from mysetlist.core import tiered_cache

from .models import SetlistEntry, Song
from .selectors import catalogue_namespace
from .services import votes_withdraw_all


@receiver(pre_delete, sender=settings.AUTH_USER_MODEL, dispatch_uid="setlists-user-votes")
def withdraw_votes_of_deleted_user(sender, instance, **kwargs):
    """Keep tallies exact however a user is deleted (admin, shell, data deletion requests)."""
    votes_withdraw_all(user=instance)


@receiver(post_save, sender=Song, dispatch_uid="setlists-song-cache")
@receiver(post_delete, sender=Song, dispatch_uid="setlists-song-cache-delete")
def forget_catalogue_of_song(sender, instance, **kwargs):
    """A song added, renamed or removed (admin, shell) changes its artist's ballots."""
    tiered_cache.invalidate_on_commit(catalogue_namespace(instance.artist_id))


@receiver(post_save, sender=SetlistEntry, dispatch_uid="setlists-entry-cache")
@receiver(post_delete, sender=SetlistEntry, dispatch_uid="setlists-entry-cache-delete")
def forget_catalogue_of_setlist(sender, instance, **kwargs):
    """A setlist edited in admin changes how often its songs were played, on every ballot
    of the artist. (The importer writes in bulk and invalidates for itself.)"""
    artist_id = Song.objects.filter(pk=instance.song_id).values_list("artist_id", flat=True)
    for found in artist_id:
        tiered_cache.invalidate_on_commit(catalogue_namespace(found))
