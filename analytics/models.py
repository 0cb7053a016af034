import hashlib
import secrets

from django.conf import settings
from django.db import models

from mysetlist.core.models import TimeStampedModel


class IngestKey(TimeStampedModel):
    """A write-only key an API consumer (or the site's own tracker) sends events with.

    Only a hash is stored; the key itself is shown once, when it is made.
    """

    name = models.CharField(max_length=100, unique=True)
    prefix = models.CharField(max_length=12, editable=False)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    is_active = models.BooleanField(default=True)
    # The site's own tracker puts its key in every page, so it may be public; a public key
    # keeps its text (write-only, like an analytics project key), a secret one only a hash.
    is_public = models.BooleanField(default=False)
    public_key = models.CharField(max_length=100, blank=True, editable=False)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return f"{self.name} ({self.prefix}…)"

    @staticmethod
    def hash(key: str) -> str:
        return hashlib.sha256(key.encode()).hexdigest()

    @staticmethod
    def generate() -> str:
        return "mk_" + secrets.token_urlsafe(24)


class Event(models.Model):
    """One raw event. On PostgreSQL the table is range-partitioned by month on `timestamp`
    (see the migration) and has no primary-key index, so bulk COPY stays fast; uniqueness
    of `message_id` is kept by EventMessageKey instead.
    """

    id = models.BigAutoField(primary_key=True)
    message_id = models.CharField(max_length=200)
    event = models.CharField(max_length=200)
    distinct_id = models.CharField(max_length=200)
    # No foreign key constraint: events outlive accounts until the retention job or a
    # deletion request removes them.
    user_id = models.BigIntegerField(null=True, blank=True)
    timestamp = models.DateTimeField()
    received_at = models.DateTimeField()
    properties = models.JSONField(default=dict)
    context = models.JSONField(default=dict)
    ip = models.GenericIPAddressField(null=True, blank=True)
    # The RollupBatch that stored it, by which the live pass finds a batch's events. No
    # foreign key: the batch row goes once its events are counted.
    batch = models.BigIntegerField(null=True, blank=True)

    class Meta:
        # The timestamp's index is made by the partitioning migration: BRIN on PostgreSQL,
        # B-tree on SQLite. The live pass finds a batch's events by this one: they share
        # its key, kept in posting lists at the B-tree's right edge, so COPY pays little.
        indexes = [models.Index(fields=["batch"], name="analytics_event_batch_idx")]

    def __str__(self):
        return f"{self.event} by {self.distinct_id} at {self.timestamp:%Y-%m-%d %H:%M:%S}"


class EventMessageKey(models.Model):
    """Every message id accepted in the de-duplication window, so a repeat is stored once.

    The key is a 16-byte hash of the sender's scope (its ingest key) and its message id: a
    small fixed-size index, and two consumers' ids never collide. `received_at` has a BRIN
    index (made by migration) for the retention job.
    """

    key = models.UUIDField(primary_key=True)
    received_at = models.DateTimeField()

    def __str__(self):
        return str(self.key)


class DistinctIdLink(models.Model):
    """An anonymous distinct id that turned out to be this user (they logged in)."""

    distinct_id = models.CharField(max_length=200, primary_key=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="distinct_ids"
    )
    # Indexed: funnels ask which browsers became accounts since a moment.
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    def __str__(self):
        return f"{self.distinct_id} → {self.user_id}"


class Granularity(models.TextChoices):
    MINUTE = "minute", "Minute"
    HOUR = "hour", "Hour"
    DAY = "day", "Day"


class EventRollup(models.Model):
    """Events of one name in one time bucket: how many, and by how many distinct persons.

    `dimension` is "" for all events of the name, or artist_id / show_id / song_id with the
    property's value in `value`. The live pass adds each stored batch's events to `count`
    within seconds; the exact pass recomputes a marked bucket from the raw events and adds
    the difference, which also brings `persons` up to date (see analytics.rollups.passes).
    """

    granularity = models.CharField(max_length=6, choices=Granularity.choices)
    bucket = models.DateTimeField()
    event = models.CharField(max_length=200)
    dimension = models.CharField(max_length=20, blank=True)
    value = models.CharField(max_length=64, blank=True)
    # Signed: both passes add, and a correction may be negative (never the sum).
    count = models.BigIntegerField()
    persons = models.BigIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["granularity", "bucket", "event", "dimension", "value"],
                name="event_rollup_unique_cell",
            )
        ]
        indexes = [
            # A series reads one event and dimension: both before the time range.
            models.Index(
                fields=["granularity", "event", "dimension", "bucket"],
                name="event_rollup_series_idx",
            ),
            models.Index(
                fields=["granularity", "dimension", "bucket"], name="event_rollup_dim_idx"
            ),
        ]

    def __str__(self):
        return f"{self.granularity} {self.bucket:%Y-%m-%d %H:%M} {self.event}: {self.count}"


class RollupDirty(models.Model):
    """A bucket that stored events touched since it was last rolled up.

    Written in the ingesting transaction, so a bucket is marked exactly when its events
    commit. No unique index, on purpose: concurrent batches never wait for each other here.
    """

    granularity = models.CharField(max_length=6, choices=Granularity.choices)
    bucket = models.DateTimeField()
    marked_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["granularity", "bucket"], name="rollup_dirty_idx")]

    def __str__(self):
        return f"{self.granularity} {self.bucket:%Y-%m-%d %H:%M}"


class RollupBatch(models.Model):
    """A stored batch of events not yet counted by the live pass. Written in the ingesting
    transaction, its id in each of the batch's events; the live pass deletes it in the
    transaction that adds them to the counts, so each batch is counted once."""

    id = models.BigAutoField(primary_key=True)
    received_at = models.DateTimeField()

    def __str__(self):
        return f"batch {self.id} at {self.received_at:%H:%M:%S}"


class RollupRun(models.Model):
    """One run of a rollup pass: what it did and how long its oldest mark had waited."""

    class Kind(models.TextChoices):
        LIVE = "live", "Live counts"
        EXACT = "exact", "Exact recomputation"

    kind = models.CharField(max_length=5, choices=Kind.choices, default=Kind.EXACT)
    granularity = models.CharField(max_length=6, choices=Granularity.choices)
    finished_at = models.DateTimeField(db_index=True)
    buckets = models.PositiveIntegerField(help_text="Buckets recomputed, or batches counted.")
    max_lag_ms = models.PositiveIntegerField(help_text="Oldest mark's wait: ingest to visible.")
    seconds = models.FloatField(default=0, help_text="How long the run took (all its chunks).")

    def __str__(self):
        return f"{self.kind} {self.granularity} at {self.finished_at:%H:%M:%S}: {self.buckets}"


class ErasureRequest(models.Model):
    """A deleted user's events, to be erased by a background job.

    Holds the user's former id and every distinct id they were linked to, captured before
    the account and its links go. Kept afterwards as the record that erasure happened.
    """

    user_id = models.BigIntegerField()
    distinct_ids = models.JSONField(default=list)
    requested_at = models.DateTimeField(auto_now_add=True)
    done_at = models.DateTimeField(null=True, blank=True)
    events_deleted = models.PositiveBigIntegerField(default=0)

    class Meta:
        ordering = ["-requested_at"]

    def __str__(self):
        state = f"done, {self.events_deleted} events" if self.done_at else "pending"
        return f"Erasure of user {self.user_id} ({state})"


class DailyUserStats(models.Model):
    """What one person did on one UTC day: the base of active-user metrics.

    `person` is as in rollups ("u:<user id>" or "a:<distinct id>"). Rows of a day are
    replaced whole when the day is recomputed with the day rollups.
    """

    day = models.DateField()
    person = models.CharField(max_length=210)
    events = models.PositiveIntegerField()
    pageviews = models.PositiveIntegerField()
    votes = models.PositiveIntegerField()

    class Meta:
        verbose_name_plural = "daily user stats"
        constraints = [
            models.UniqueConstraint(fields=["day", "person"], name="daily_user_stats_unique")
        ]

    def __str__(self):
        return f"{self.person} on {self.day}: {self.events} events"


class PlatformMetric(models.Model):
    """One platform-wide number for one UTC day (events, persons, votes, ...), written with
    the day's rollups so dashboards read a handful of rows."""

    day = models.DateField()
    name = models.CharField(max_length=50)
    value = models.BigIntegerField()

    class Meta:
        ordering = ["day", "name"]
        constraints = [
            models.UniqueConstraint(fields=["day", "name"], name="platform_metric_unique")
        ]

    def __str__(self):
        return f"{self.day} {self.name}: {self.value}"


class Person(models.Model):
    """One person as rollups count them ("u:<user id>" or "a:<distinct id>"): the first UTC
    day they were seen and the day they signed up. Days only ever move earlier, as older
    events arrive; an erasure deletes the row."""

    key = models.CharField(max_length=210, unique=True)
    first_seen = models.DateField(db_index=True)
    signed_up = models.DateField(null=True, blank=True, db_index=True)

    def __str__(self):
        return f"{self.key}, first seen {self.first_seen}"


class PersonActivity(models.Model):
    """That a person did an event (or, with event "", anything) in a week or month: the base
    of retention. Rows are only ever added, as events are; an erasure deletes the person."""

    class Period(models.TextChoices):
        WEEK = "week"
        MONTH = "month"

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="activity")
    period = models.CharField(max_length=5, choices=Period.choices)
    start = models.DateField(help_text="Monday of the ISO week, or the first of the month.")
    event = models.CharField(max_length=200, blank=True)

    class Meta:
        verbose_name_plural = "person activity"
        constraints = [
            models.UniqueConstraint(
                fields=["period", "event", "start", "person"], name="person_activity_unique"
            )
        ]

    def __str__(self):
        return f"{self.person_id} {self.event or 'any event'} in the {self.period} of {self.start}"


class PersonFirstEvent(models.Model):
    """When a person first did an event: the base of first-time funnels. Only ever moves
    earlier, as older events arrive; an erasure deletes the person."""

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="first_events")
    event = models.CharField(max_length=200)
    first_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["event", "person"], name="person_first_event_unique")
        ]
        indexes = [models.Index(fields=["event", "first_at"], name="person_first_event_at")]

    def __str__(self):
        return f"{self.person_id} first did {self.event} at {self.first_at}"


class TimelineMinute(models.Model):
    """The events of one name in one UTC minute, cut down to who and when: the base of
    sequence funnels. `moments` packs, for each event, the person's number (see
    analytics.rollups.timeline.person_number) and its time in microseconds since the epoch, as
    big-endian 64-bit integers, 16 bytes an event; a funnel reads a day of them as a few
    thousand rows. Replaced whole when the minute's rollups are recomputed."""

    pk = models.CompositePrimaryKey("event", "minute")
    event = models.CharField(max_length=200)
    minute = models.DateTimeField()
    moments = models.BinaryField()

    class Meta:
        indexes = [models.Index(fields=["minute"], name="timeline_minute_idx")]

    def __str__(self):
        return f"{self.event} in the minute of {self.minute:%Y-%m-%d %H:%M}"


class SessionDay(models.Model):
    """The sessions of one UTC day, cut at midnight (a session running past it goes on as a
    new one the next day, as in Google Analytics' Universal Analytics): what dashboards sum
    over days instead of re-reading events. Counted as `session_summary` counts them over
    that day; `lengths` holds every session's length, so a median over days stays exact.
    Replaced whole when the day's rollups are recomputed."""

    day = models.DateField(unique=True)
    sessions = models.PositiveIntegerField()
    seconds = models.FloatField(help_text="The sessions' lengths added up, in seconds.")
    pageviews = models.PositiveBigIntegerField()
    bounces = models.PositiveIntegerField()
    lengths = models.BinaryField(
        help_text="Every session's length in microseconds, sorted, as zlib-compressed "
        "little-endian 64-bit differences from the one before (see analytics.rollups.sessions)."
    )

    def __str__(self):
        return f"{self.day}: {self.sessions} sessions"


class PageMoveDay(models.Model):
    """How often visitors went from one page to another within a session on one UTC day (as
    `paths` counts moves, sessions cut at midnight). Replaced whole with the day."""

    day = models.DateField()
    source = models.TextField()
    target = models.TextField()
    moves = models.PositiveBigIntegerField()

    class Meta:
        indexes = [models.Index(fields=["day"], name="page_move_day_idx")]

    def __str__(self):
        return f"{self.day}: {self.source} → {self.target} × {self.moves}"
