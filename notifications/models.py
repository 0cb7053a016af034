"""Notifications: what a user is told (Notification), on which channel and how it went
(Delivery), what they asked for (NotificationPreference), where push goes
(PushSubscription) and the words used (NotificationTemplate)."""

from django.conf import settings
from django.core.validators import MaxValueValidator
from django.db import models
from django.utils import timezone


class Category(models.TextChoices):
    SHOW_ANNOUNCED = "show_announced", "New show by an artist you follow"
    VOTING_OPENED = "voting_opened", "Voting opened"
    VOTING_CLOSING = "voting_closing", "Voting closes soon"
    VOTING_CLOSED = "voting_closed", "Voting closed"
    PREDICTION_PUBLISHED = "prediction_published", "Predicted setlist published"
    SETLIST_POSTED = "setlist_posted", "Setlist posted after the show"
    DIGEST = "digest", "Digest"
    # Staff only: the monitoring app's alert rules.
    ALERT_FIRING = "alert_firing", "Alert firing (staff)"
    ALERT_RESOLVED = "alert_resolved", "Alert resolved (staff)"
    # Staff only: the monitoring app's scheduled reports.
    REPORT_READY = "report_ready", "Report ready (staff)"


# Categories only staff are sent (alerts): a fan's preferences never list them.
STAFF_CATEGORIES = frozenset(
    {Category.ALERT_FIRING, Category.ALERT_RESOLVED, Category.REPORT_READY}
)


class Channel(models.TextChoices):
    EMAIL = "email", "Email"
    PUSH = "push", "Web push"
    IN_APP = "in_app", "In-app"
    SMS = "sms", "SMS"


class NotificationPreference(models.Model):
    """One user's rules. Without a row, the defaults apply: every channel of every category
    on, no quiet hours, no cap, no digest."""

    class Digest(models.TextChoices):
        OFF = "off", "Send each as it comes"
        DAILY = "daily", "Daily digest of low-priority items"
        WEEKLY = "weekly", "Weekly digest of low-priority items"

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_preference"
    )
    # "category:channel" pairs the user turned off; anything not listed is on.
    disabled = models.JSONField(default=list, blank=True)
    quiet_start = models.TimeField(null=True, blank=True)
    quiet_end = models.TimeField(null=True, blank=True)
    daily_cap = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="most non-urgent notifications a local day; empty: no cap"
    )
    digest = models.CharField(max_length=10, choices=Digest.choices, default=Digest.OFF)
    digest_hour = models.PositiveSmallIntegerField(
        default=9, validators=[MaxValueValidator(23)], help_text="local hour a digest goes out"
    )
    unsubscribed_all = models.BooleanField(default=False, help_text="from every email")
    sms_number = models.CharField(max_length=20, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self):
        return f"preferences of {self.user}"


class Notification(models.Model):
    """One thing one user is told, once: `key` names the trigger, so a retry or a second
    trigger of the same event adds nothing. Its in-app state lives here too."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    category = models.CharField(max_length=30, choices=Category.choices)
    key = models.CharField(max_length=200, unique=True)
    context = models.JSONField(default=dict, blank=True)
    urgent = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)
    dismissed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["user", "-created_at"], name="notification_inbox_idx"),
            models.Index(
                fields=["dismissed_at"],
                condition=models.Q(dismissed_at__isnull=False),
                name="notification_dismissed_idx",
            ),
        ]

    def __str__(self):
        return f"{self.category} for {self.user_id}"


class Delivery(models.Model):
    """One notification on one channel: the outbox row a worker claims, sends and records.

    Rows wait as QUEUED until `not_before` (quiet hours, caps, retries, backoff); HELD rows
    wait for a digest. A worker claims due rows for a lease; a row whose worker died is
    claimed again once its lease ends, and one already SENT is never sent twice.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        HELD = "held", "Held for a digest"
        SENT = "sent", "Sent"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Failed (dead letter)"
        BOUNCED = "bounced", "Bounced"
        SKIPPED = "skipped", "Skipped"

    notification = models.ForeignKey(
        Notification, on_delete=models.CASCADE, related_name="deliveries"
    )
    channel = models.CharField(max_length=10, choices=Channel.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    not_before = models.DateTimeField(default=timezone.now)
    claimed_until = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    opened_at = models.DateTimeField(null=True, blank=True)
    clicked_at = models.DateTimeField(null=True, blank=True)
    latency_ms = models.PositiveIntegerField(null=True, blank=True)
    provider = models.CharField(max_length=50, blank=True)
    provider_message_id = models.CharField(max_length=255, blank=True, db_index=True)
    response = models.TextField(blank=True)  # the provider's answer or the last error
    template_version = models.PositiveIntegerField(null=True, blank=True)
    # The notification experiment the recipient was in at fan-out, and the template variant
    # it gave them (blank: none, the default words).
    experiment = models.CharField(max_length=100, blank=True)
    variant = models.CharField(max_length=50, blank=True)
    render_ms = models.FloatField(null=True, blank=True)
    converted_at = models.DateTimeField(null=True, blank=True)
    # A HELD row a digest took: the digest notification that carried it.
    digest = models.ForeignKey(
        Notification, on_delete=models.SET_NULL, null=True, blank=True, related_name="digested"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["notification", "channel"], name="delivery_one_per_channel"
            )
        ]
        indexes = [
            models.Index(
                fields=["not_before"],
                condition=models.Q(status="queued"),
                name="delivery_due_idx",
            ),
            # The rollup pass reads the rows with any of these times in its window: one index
            # each, the sparse ones partial, so it reads a few minutes' rows, not the table.
            models.Index(fields=["created_at"], name="delivery_created_idx"),
            models.Index(fields=["sent_at"], name="delivery_sent_idx"),
            *(
                models.Index(
                    fields=[field],
                    condition=models.Q(**{f"{field}__isnull": False}),
                    name=f"delivery_{field.removesuffix('_at')}_idx",
                )
                for field in ("delivered_at", "opened_at", "clicked_at", "converted_at")
            ),
        ]
        verbose_name_plural = "deliveries"

    def __str__(self):
        return f"{self.channel} of notification {self.notification_id}: {self.status}"


class PushSubscription(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="push_subscriptions"
    )
    endpoint = models.URLField(max_length=1000, unique=True)
    p256dh = models.CharField(max_length=200)
    auth = models.CharField(max_length=100)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return f"push of {self.user_id}"


class NotificationTemplate(models.Model):
    """The words of a category in a locale; each save is a new version, the newest
    active one is used and a delivery records which it got."""

    category = models.CharField(max_length=30, choices=Category.choices)
    locale = models.CharField(max_length=10, default="en")
    variant = models.SlugField(
        max_length=50,
        blank=True,
        help_text="Blank for the default words; else the key of a notification experiment's "
        "variant whose recipients get these words.",
    )
    version = models.PositiveIntegerField(default=1)
    is_active = models.BooleanField(default=True)
    subject = models.CharField(max_length=200)
    html = models.TextField()
    text = models.TextField()
    push_title = models.CharField(max_length=100)
    push_body = models.CharField(max_length=300)
    in_app_text = models.CharField(max_length=300)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["category", "locale", "variant", "-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["category", "locale", "variant", "version"],
                name="template_unique_variant_version",
            )
        ]

    def __str__(self):
        variant = f" [{self.variant}]" if self.variant else ""
        return f"{self.category} ({self.locale}){variant} v{self.version}"


class Trigger(models.Model):
    """A domain event to tell followers about (a show announced, voting opened...). Written
    in the transaction of the change itself, so a committed change always has its trigger;
    a fan-out that was lost or died is re-driven until `done_at` is set."""

    key = models.CharField(max_length=200, unique=True)
    category = models.CharField(max_length=30, choices=Category.choices)
    show = models.ForeignKey(
        "setlists.Show", on_delete=models.CASCADE, related_name="notification_triggers"
    )
    created_at = models.DateTimeField(default=timezone.now)
    done_at = models.DateTimeField(null=True, blank=True)
    notified = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(
                fields=["created_at"], condition=models.Q(done_at=None), name="trigger_pending_idx"
            )
        ]

    def __str__(self):
        return self.key


class TrackingEvent(models.Model):
    """One event from an email provider's webhook (delivered, bounced, opened...), stored
    as it came so the webhook answers fast, then applied to its delivery by a worker."""

    provider = models.CharField(max_length=30)
    event_id = models.CharField(max_length=255)
    event_type = models.CharField(max_length=30)
    message_id = models.CharField(max_length=255, blank=True, db_index=True)
    recipient = models.CharField(max_length=254, blank=True)
    occurred_at = models.DateTimeField(null=True, blank=True)
    description = models.TextField(blank=True)
    received_at = models.DateTimeField(default=timezone.now)
    applied_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at"]
        constraints = [
            models.UniqueConstraint(fields=["provider", "event_id"], name="tracking_event_once")
        ]
        indexes = [
            models.Index(
                fields=["received_at"],
                condition=models.Q(applied_at=None),
                name="tracking_pending_idx",
            )
        ]

    def __str__(self):
        return f"{self.provider} {self.event_type} {self.message_id}"


class RollupGranularity(models.TextChoices):
    MINUTE = "minute", "Minute"
    HOUR = "hour", "Hour"
    DAY = "day", "Day"


class DeliveryRollup(models.Model):
    """What deliveries did in one UTC minute, hour or day, by channel, category, template
    version and variant, and provider (see notifications.metrics.rollups).

    Each outcome counts in the bucket of its own time: sent at sent_at, opened at
    opened_at, dismissed at the notification's dismissed_at... Failed, bounced, skipped and
    pending rows have no time of their own: they count where the row was created, as the
    status it has now. Histograms are {bucket: count} (notifications.metrics.histogram).
    """

    granularity = models.CharField(max_length=6, choices=RollupGranularity.choices)
    bucket = models.DateTimeField()
    channel = models.CharField(max_length=10, choices=Channel.choices)
    category = models.CharField(max_length=30)
    template_version = models.PositiveIntegerField(help_text="0: the built-in words.")
    experiment = models.CharField(max_length=100, blank=True)
    variant = models.CharField(max_length=50, blank=True)
    provider = models.CharField(max_length=50, blank=True)

    deliveries = models.PositiveIntegerField(default=0)
    sent = models.PositiveIntegerField(default=0)
    delivered = models.PositiveIntegerField(default=0)
    opened = models.PositiveIntegerField(default=0)
    clicked = models.PositiveIntegerField(default=0)
    converted = models.PositiveIntegerField(default=0)
    dismissed = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    bounced = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)
    pending = models.PositiveIntegerField(default=0)
    latency_ms = models.JSONField(default=dict, blank=True)
    render_ms = models.JSONField(default=dict, blank=True)
    open_s = models.JSONField(default=dict, blank=True)
    click_s = models.JSONField(default=dict, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=[
                    "granularity", "bucket", "channel", "category", "template_version",
                    "experiment", "variant", "provider",
                ],
                name="delivery_rollup_unique_cell",
            )
        ]  # fmt: skip
        indexes = [models.Index(fields=["granularity", "bucket"], name="delivery_rollup_idx")]

    def __str__(self):
        return f"{self.granularity} {self.bucket:%Y-%m-%d %H:%M} {self.channel} {self.category}"


class DeliveryRollupRun(models.Model):
    """One pass of the delivery rollups: the range of minutes it replaced. The next pass
    starts where the last ended (less the window it re-rolls), so a stopped beat catches up."""

    start = models.DateTimeField()
    end = models.DateTimeField(db_index=True)
    finished_at = models.DateTimeField()
    rows = models.PositiveIntegerField(help_text="Deliveries read.")
    seconds = models.FloatField()

    def __str__(self):
        return f"{self.start:%Y-%m-%d %H:%M} to {self.end:%H:%M}: {self.rows} rows"


class OpenHourProfile(models.Model):
    """The local hours a user usually opens or clicks notifications, computed from their
    deliveries of the last 90 days by `notifications.planning.open_hours` and refreshed
    daily (notifications.timing.profiles). `likely` is empty while the evidence is too thin
    to trust: then nothing waits for it. The hours are local to `timezone`, the user's zone
    when computed; a profile of another zone than the user's now is not used."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="open_hour_profile",
    )
    timezone = models.CharField(max_length=64)
    likely = models.JSONField(default=list, blank=True, help_text="local hours, best first")
    best_hour = models.PositiveSmallIntegerField(validators=[MaxValueValidator(23)])
    shares = models.JSONField(default=list, blank=True, help_text="24 shares, 00:00 first")
    evidence = models.FloatField(help_text="weighted engagements behind it")
    engagements = models.PositiveIntegerField()
    confidence = models.FloatField()
    computed_at = models.DateTimeField()

    def __str__(self):
        return f"open hours of {self.user_id}: {self.likely}"
