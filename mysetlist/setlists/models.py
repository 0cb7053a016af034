from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Lower
from django.urls import reverse
from timezone_field import TimeZoneField

from mysetlist.core.models import TimeStampedModel


class Artist(TimeStampedModel):
    name = models.CharField(max_length=200, unique=True)
    slug = models.SlugField(max_length=200, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("setlists:artist-detail", kwargs={"slug": self.slug})


class Venue(TimeStampedModel):
    name = models.CharField(max_length=200)
    city = models.CharField(max_length=200, blank=True)
    country = models.CharField(max_length=100, blank=True)
    timezone = TimeZoneField(default="UTC")

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["name", "city", "country"], name="venue_unique_place")
        ]

    def __str__(self):
        return ", ".join(part for part in (self.name, self.city, self.country) if part)


class Tour(TimeStampedModel):
    artist = models.ForeignKey(Artist, on_delete=models.CASCADE, related_name="tours")
    name = models.CharField(max_length=200)

    class Meta:
        ordering = ["artist", "name"]
        constraints = [
            models.UniqueConstraint(fields=["artist", "name"], name="tour_unique_per_artist")
        ]

    def __str__(self):
        return self.name


class Song(TimeStampedModel):
    artist = models.ForeignKey(Artist, on_delete=models.CASCADE, related_name="songs")
    title = models.CharField(max_length=300)

    class Meta:
        ordering = ["title"]
        constraints = [
            models.UniqueConstraint(
                models.F("artist"), Lower("title"), name="song_unique_title_per_artist"
            )
        ]

    def __str__(self):
        return self.title


class Show(TimeStampedModel):
    class Status(models.TextChoices):
        ANNOUNCED = "announced", "Announced"
        VOTING_OPEN = "voting_open", "Voting open"
        LOCKED = "locked", "Locked"
        COMPLETED = "completed", "Completed"

    artist = models.ForeignKey(Artist, on_delete=models.CASCADE, related_name="shows")
    venue = models.ForeignKey(
        Venue, on_delete=models.PROTECT, related_name="shows", null=True, blank=True
    )
    tour = models.ForeignKey(
        Tour, on_delete=models.SET_NULL, related_name="shows", null=True, blank=True
    )
    date = models.DateField()
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.ANNOUNCED)
    # Where an imported show came from, so a re-import updates instead of duplicating.
    source = models.CharField(max_length=50, blank=True)
    source_id = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["-date", "id"]
        indexes = [
            models.Index(fields=["artist", "date"], name="show_artist_date_idx"),
            models.Index(fields=["status", "date"], name="show_status_date_idx"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["source", "source_id"],
                condition=~models.Q(source=""),
                name="show_unique_source_id",
            )
        ]

    def __str__(self):
        where = f" at {self.venue.name}" if self.venue_id else ""
        return f"{self.artist.name}, {self.date:%Y-%m-%d}{where}"

    def get_absolute_url(self):
        return reverse("setlists:show-detail", kwargs={"pk": self.pk})

    @property
    def is_voting_open(self) -> bool:
        return self.status == self.Status.VOTING_OPEN


class SetlistEntry(models.Model):
    class SetMarker(models.TextChoices):
        MAIN = "main", "Main set"
        ENCORE = "encore", "Encore"

    show = models.ForeignKey(Show, on_delete=models.CASCADE, related_name="setlist_entries")
    song = models.ForeignKey(Song, on_delete=models.PROTECT, related_name="setlist_entries")
    position = models.PositiveSmallIntegerField()
    set_marker = models.CharField(max_length=10, choices=SetMarker.choices, default=SetMarker.MAIN)
    # Which main set or encore (1, 2, ...), where the source says; null where it does not.
    set_number = models.PositiveSmallIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["show", "position"]
        verbose_name_plural = "setlist entries"
        constraints = [
            models.UniqueConstraint(
                fields=["show", "position"], name="setlist_entry_unique_position"
            )
        ]
        indexes = [models.Index(fields=["song", "show"], name="setlist_entry_song_show_idx")]

    def __str__(self):
        return f"{self.position}. {self.song.title}"


class Vote(TimeStampedModel):
    class Value(models.IntegerChoices):
        UP = 1, "Up"
        DOWN = -1, "Down"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="votes"
    )
    show = models.ForeignKey(Show, on_delete=models.CASCADE, related_name="votes")
    song = models.ForeignKey(Song, on_delete=models.CASCADE, related_name="votes")
    value = models.SmallIntegerField(choices=Value.choices)
    # A keyed hash of the address the vote was last cast from (see address_hash): enough to
    # tell votes from one address apart, never the address itself.
    address_hash = models.CharField(max_length=32, blank=True)
    # Set aside by staff (votes_exclude): kept, but counted nowhere.
    excluded = models.BooleanField(default=False)
    excluded_at = models.DateTimeField(null=True, blank=True)
    excluded_reason = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-updated_at"]
        constraints = [
            models.UniqueConstraint(fields=["user", "show", "song"], name="vote_one_per_user_song"),
            models.CheckConstraint(condition=models.Q(value__in=[1, -1]), name="vote_value_valid"),
        ]
        indexes = [models.Index(fields=["show", "song"], name="vote_show_song_idx")]

    def __str__(self):
        return f"{self.user} {self.value:+d} {self.song} @ {self.show_id}"

    def clean(self):
        if self.excluded != (self.excluded_at is not None):
            raise ValidationError({"excluded_at": "An excluded vote says when it was excluded."})


class VoteTally(models.Model):
    """Running vote counts of one song at one show, kept exact by the vote services.

    Counting votes on every page view costs a scan per show; this row costs one locked
    update per vote. `version` grows with every change so live clients can drop stale
    updates that arrive out of order.
    """

    show = models.ForeignKey(Show, on_delete=models.CASCADE, related_name="tallies")
    song = models.ForeignKey(Song, on_delete=models.CASCADE, related_name="tallies")
    upvotes = models.PositiveIntegerField(default=0)
    downvotes = models.PositiveIntegerField(default=0)
    version = models.PositiveBigIntegerField(default=0)

    class Meta:
        verbose_name_plural = "vote tallies"
        constraints = [
            models.UniqueConstraint(fields=["show", "song"], name="vote_tally_unique_show_song")
        ]

    def __str__(self):
        return f"{self.song_id} @ {self.show_id}: +{self.upvotes}/-{self.downvotes}"

    @property
    def score(self) -> int:
        return self.upvotes - self.downvotes


class Follow(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="follows"
    )
    artist = models.ForeignKey(Artist, on_delete=models.CASCADE, related_name="follows")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["user", "artist"], name="follow_unique_user_artist")
        ]

    def __str__(self):
        return f"{self.user} follows {self.artist}"
