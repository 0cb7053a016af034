"""Alerting: rules on the catalog's figures (AlertRule), the times their messages are held
back (Silence), each episode of a rule's alert (Alert) and every change of one (AlertEvent)."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.utils import timezone

from monitoring import catalog
from monitoring.alerting.rules import OPEN_STATES
from monitoring.anomalies.series import series_get
from mysetlist.core.exceptions import ApplicationError

EVALUATION_SECONDS = 60  # beat evaluates every rule once a minute


class Operator(models.TextChoices):
    GT = "gt", "greater than"
    GTE = "gte", "at least"
    LT = "lt", "less than"
    LTE = "lte", "at most"
    EQ = "eq", "equal to"


class Severity(models.TextChoices):
    INFO = "info", "Info"
    WARNING = "warning", "Warning"
    CRITICAL = "critical", "Critical"
    EMERGENCY = "emergency", "Emergency"


SEVERITY_RANK = {s: i for i, s in enumerate(Severity.values)}


class AlertChannel(models.TextChoices):
    EMAIL = "email", "Email"
    IN_APP = "in_app", "In-app"
    PUSH = "push", "Web push"


def _default_channels() -> list[str]:
    return [AlertChannel.EMAIL, AlertChannel.IN_APP]


class Detection(models.TextChoices):
    THRESHOLD = "threshold", "Threshold: the figure against a number"
    ANOMALY = "anomaly", "Anomaly: unusual for the time of week (no threshold)"


class AlertRule(models.Model):
    """When a figure of the catalog is out of bounds long enough, staff who subscribe hear of
    it: Prometheus' alerting rule (`for`, `keep_firing_for`) with Alertmanager's repeat
    interval and grouping."""

    name = models.CharField(max_length=200, unique=True)
    description = models.TextField(blank=True)
    metric = models.CharField(max_length=100, help_text="the key of a figure in the catalog")
    operator = models.CharField(max_length=3, choices=Operator.choices)
    threshold = models.FloatField()
    change = models.BooleanField(
        default=False,
        help_text="compare the percentage change against the previous window, not the value",
    )
    window_seconds = models.PositiveIntegerField(
        default=300,
        validators=[MinValueValidator(EVALUATION_SECONDS)],
        help_text="the span the figure is read over; at least the evaluation interval (60 s)",
    )
    for_seconds = models.PositiveIntegerField(
        default=0, help_text="how long the condition holds before the alert fires (pending)"
    )
    keep_firing_for_seconds = models.PositiveIntegerField(
        default=0, help_text="how long a firing alert keeps firing once the condition clears"
    )
    severity = models.CharField(max_length=10, choices=Severity.choices, default=Severity.WARNING)
    channels = models.JSONField(default=_default_channels, help_text="among email, in_app and push")
    subscribers = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="alert_rules"
    )
    repeat_seconds = models.PositiveIntegerField(
        default=3600,
        validators=[MinValueValidator(EVALUATION_SECONDS)],
        help_text="a firing alert is sent again after this long (cooldown)",
    )
    group_key = models.SlugField(
        max_length=100,
        blank=True,
        help_text="rules of one group that change in the same evaluation share one message",
    )
    send_resolved = models.BooleanField(default=True)
    resolve_message = models.TextField(blank=True, help_text="added to the resolve message")
    enabled = models.BooleanField(default=True)
    detection = models.CharField(
        max_length=10,
        choices=Detection.choices,
        default=Detection.THRESHOLD,
        help_text="anomaly: the metric is a seasonal series (votes_per_show, events_per_minute, "
        "http_error_rate, notification_failure_rate), the operator and threshold are unused",
    )
    sensitivity = models.FloatField(
        default=3.5,
        validators=[MinValueValidator(1.0)],
        help_text="anomaly rules: the robust z-score past which the value is unusual",
    )
    last_evaluated_at = models.DateTimeField(null=True, blank=True)
    last_value = models.FloatField(null=True, blank=True)  # what was compared, None: no data
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(window_seconds__gte=EVALUATION_SECONDS),
                name="alert_rule_window_at_least_evaluation",
            ),
        ]

    def __str__(self):
        return self.name

    def clean(self):
        errors = {}
        anomaly = self.detection == Detection.ANOMALY
        if self.metric:
            try:
                if anomaly:
                    series_get(self.metric)
                else:
                    catalog.figure_get(self.metric)
            except ApplicationError as exc:
                errors["metric"] = exc.message
        if anomaly and self.change:
            errors["change"] = "An anomaly rule compares the value with past weeks, not a change."
        channels = self.channels
        if not isinstance(channels, list) or not channels:
            errors["channels"] = "Give at least one channel: email, in_app or push."
        elif unknown := [c for c in channels if c not in AlertChannel.values]:
            errors["channels"] = (
                f"Unknown channel {', '.join(map(str, unknown))}; the channels are "
                f"{', '.join(AlertChannel.values)}."
            )
        if errors:
            raise ValidationError(errors)

    @property
    def group(self) -> str:
        """The key its messages are grouped by: its group, else itself alone."""
        return self.group_key or f"rule-{self.pk}"


class Silence(models.Model):
    """No message of the alerts it matches (a rule, or every rule of a group) between its
    start and end; their states move on as usual (Alertmanager's silences)."""

    rule = models.ForeignKey(
        AlertRule, null=True, blank=True, on_delete=models.CASCADE, related_name="silences"
    )
    group_key = models.SlugField(max_length=100, blank=True, help_text="or every rule of a group")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    comment = models.CharField(max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-starts_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(starts_at__lt=models.F("ends_at")),
                name="silence_starts_before_it_ends",
            ),
            models.CheckConstraint(
                condition=(models.Q(rule__isnull=True) & ~models.Q(group_key=""))
                | (models.Q(rule__isnull=False) & models.Q(group_key="")),
                name="silence_matches_a_rule_or_a_group",
            ),
        ]

    def __str__(self):
        target = f"rule {self.rule}" if self.rule_id else f"group {self.group_key}"
        return f"silence of {target}"

    def clean(self):
        errors = {}
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            errors["ends_at"] = "A silence ends after it starts."
        if bool(self.rule_id) == bool(self.group_key):
            errors["rule"] = "A silence matches either a rule or a group, one of the two."
        if errors:
            raise ValidationError(errors)


class Alert(models.Model):
    """One episode of a rule's alert, from pending to resolved (or back to inactive, when it
    cleared before firing). A rule has one open alert at most."""

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        FIRING = "firing", "Firing"
        ACKNOWLEDGED = "acknowledged", "Acknowledged"
        RESOLVED = "resolved", "Resolved"
        INACTIVE = "inactive", "Cleared before firing"

    rule = models.ForeignKey(AlertRule, on_delete=models.CASCADE, related_name="alerts")
    state = models.CharField(max_length=12, choices=State.choices)
    value = models.FloatField(null=True, blank=True)  # the last compared value
    silenced = models.BooleanField(default=False)
    started_at = models.DateTimeField()
    fired_at = models.DateTimeField(null=True, blank=True)
    last_sent_at = models.DateTimeField(null=True, blank=True)
    clear_since = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["rule"],
                condition=models.Q(state__in=[str(s) for s in OPEN_STATES]),
                name="alert_one_open_per_rule",
            )
        ]

    def __str__(self):
        return f"{self.rule}: {self.state}"


class AlertEvent(models.Model):
    """A change of an alert (or a message about it): the history, and the outbox of the
    messages, sent once `notified_at` is set."""

    class Kind(models.TextChoices):
        PENDING = "pending", "Went pending"
        FIRING = "firing", "Fired"
        REPEATED = "repeated", "Sent again"
        ACKNOWLEDGED = "acknowledged", "Acknowledged"
        RESOLVED = "resolved", "Resolved"
        INACTIVE = "inactive", "Cleared before firing"

    class Send(models.TextChoices):
        NOTHING = "", "Nothing"
        FIRE = "fire", "Firing message"
        REPEAT = "repeat", "Repeated firing message"
        RESOLVE = "resolve", "Resolve message"

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    at = models.DateTimeField()
    value = models.FloatField(null=True, blank=True)
    silenced = models.BooleanField(default=False)
    send = models.CharField(max_length=8, choices=Send.choices, blank=True)
    notified_at = models.DateTimeField(null=True, blank=True)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["at", "id"]
        indexes = [
            models.Index(
                fields=["at"],
                condition=~models.Q(send="") & models.Q(notified_at=None),
                name="alert_event_unsent_idx",
            )
        ]

    def __str__(self):
        return f"{self.alert}: {self.kind} at {self.at:%Y-%m-%d %H:%M}"


from monitoring.anomalies.models import AnomalyFinding, RequestHour  # noqa: E402, F401
from monitoring.dashboards.models import Dashboard, Widget  # noqa: E402, F401
from monitoring.exports.models import ExportFormat, ExportJob  # noqa: E402, F401
from monitoring.reports.models import Report, ReportKind, ReportSubscription  # noqa: E402, F401
from monitoring.voting.models import VoteFlag  # noqa: E402, F401  (the app's models live here)
