"""Experiments: what is tested on whom, how fans are split, and who saw which variant.

An experiment's variants and coverage are split by `experiments.assignment` with the seed of
its current phase. Changing the split of a running experiment (weights, variants, coverage
down) starts a new phase with a new seed: everyone is randomised again, and analysis reads one
phase at a time. Writes go through `experiments.services`.
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models


class Metric(models.Model):
    """A measure of what exposed fans did afterwards, defined on analytics events."""

    class Kind(models.TextChoices):
        CONVERSION = "conversion", "Conversion: did the event within N days of exposure"
        MEAN = "mean", "Mean: count of the event (or sum of a property) per user"
        RATIO = "ratio", "Ratio: sum of one event over the sum of another"
        NOTIFICATION = "notification", "Notification: of the deliveries in the experiment"

    class NotificationOutcome(models.TextChoices):
        OPENED = "opened"
        CLICKED = "clicked"
        CONVERTED = "converted", "converted (a vote after a click)"

    key = models.SlugField(max_length=100, unique=True)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    kind = models.CharField(max_length=12, choices=Kind.choices)
    event = models.CharField(
        max_length=200, blank=True, help_text="The analytics event (numerator of a ratio)."
    )
    property = models.CharField(
        max_length=200, blank=True, help_text="Sum this numeric property instead of counting."
    )
    denominator_event = models.CharField(max_length=200, blank=True, help_text="Ratio only.")
    notification_outcome = models.CharField(
        max_length=10, choices=NotificationOutcome.choices, blank=True
    )
    window_days = models.PositiveSmallIntegerField(
        default=7,
        validators=[MinValueValidator(1), MaxValueValidator(90)],
        help_text="Only what happened within this many days of a user's exposure counts.",
    )
    higher_is_better = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["key"]

    def __str__(self):
        return self.name

    def clean(self):
        needs = {
            self.Kind.CONVERSION: ["event"],
            self.Kind.MEAN: ["event"],
            self.Kind.RATIO: ["event", "denominator_event"],
            self.Kind.NOTIFICATION: ["notification_outcome"],
        }.get(self.kind, [])
        errors = {
            name: f"A {self.kind} metric needs this." for name in needs if not getattr(self, name)
        }
        if self.kind != self.Kind.RATIO and self.denominator_event:
            errors["denominator_event"] = "Only a ratio metric has a denominator."
        if self.kind != self.Kind.NOTIFICATION and self.notification_outcome:
            errors["notification_outcome"] = "Only a notification metric has an outcome."
        if errors:
            raise ValidationError(errors)


class Experiment(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft"
        RUNNING = "running"
        STOPPED = "stopped"
        CONCLUDED = "concluded"

    class Surface(models.TextChoices):
        NOTIFICATION = "notification", "Notification template"
        CONTENT = "content", "Page content (a placement)"
        BALLOT = "ballot", "Ballot layout"
        OTHER = "other", "Other (read in code by key)"

    class Visitors(models.TextChoices):
        ALL = "all"
        NEW = "new", "New (first seen within 30 days)"
        RETURNING = "returning"

    class Staff(models.TextChoices):
        ALL = "all"
        STAFF = "staff", "Staff only"
        FANS = "fans", "Everyone but staff"

    key = models.SlugField(max_length=100, unique=True, help_text="Also the hash seed.")
    name = models.CharField(max_length=200)
    hypothesis = models.TextField(blank=True)
    surface = models.CharField(max_length=12, choices=Surface.choices, default=Surface.OTHER)
    placement = models.SlugField(
        max_length=100, blank=True, help_text="Content experiments: where the content shows."
    )
    notification_category = models.CharField(
        max_length=30, blank=True, help_text="Notification experiments: whose template varies."
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    coverage = models.FloatField(
        default=1.0,
        validators=[MinValueValidator(0), MaxValueValidator(1)],
        help_text="Share of the eligible users in the experiment (0 to 1).",
    )
    # Targeting: who is eligible. Empty lists mean everyone.
    countries = models.JSONField(default=list, blank=True, help_text='ISO codes, e.g. ["US"].')
    platforms = models.JSONField(default=list, blank=True, help_text='e.g. ["ios", "web"].')
    visitors = models.CharField(max_length=10, choices=Visitors.choices, default=Visitors.ALL)
    follows_artist = models.ForeignKey(
        "setlists.Artist",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="Only fans following this artist.",
    )
    staff = models.CharField(max_length=5, choices=Staff.choices, default=Staff.ALL)
    start_at = models.DateTimeField(null=True, blank=True)
    end_at = models.DateTimeField(null=True, blank=True)
    # What decides it.
    primary_metric = models.ForeignKey(
        Metric, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    secondary_metrics = models.ManyToManyField(Metric, blank=True, related_name="+")
    guardrail_metrics = models.ManyToManyField(Metric, blank=True, related_name="+")
    minimum_detectable_effect = models.FloatField(
        null=True,
        blank=True,
        validators=[MinValueValidator(0.001), MaxValueValidator(10)],
        help_text="Relative, e.g. 0.05 for a 5% lift.",
    )
    baseline_value = models.FloatField(
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
        help_text="The control's expected conversion rate (or mean), for the sample size.",
    )
    baseline_stddev = models.FloatField(
        null=True, blank=True, validators=[MinValueValidator(0)], help_text="Mean metrics only."
    )
    # Statistics settings, GrowthBook's defaults.
    alpha = models.FloatField(
        default=0.05, validators=[MinValueValidator(0.001), MaxValueValidator(0.5)]
    )
    power = models.FloatField(
        default=0.8, validators=[MinValueValidator(0.5), MaxValueValidator(0.99)]
    )
    sequential = models.BooleanField(default=True, help_text="Always-valid intervals: look daily.")
    sequential_tuning = models.PositiveIntegerField(default=5000)
    prior_mean = models.FloatField(default=0)
    prior_stddev = models.FloatField(default=0.3, validators=[MinValueValidator(1e-6)])
    prior_proper = models.BooleanField(default=False)
    # The kill switch: everyone sees the control at once, nothing else changes.
    killed_at = models.DateTimeField(null=True, blank=True)
    killed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    conclusion = models.TextField(blank=True)
    winner = models.CharField(max_length=50, blank=True, help_text="Variant key, once concluded.")
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(coverage__gte=0, coverage__lte=1), name="experiment_coverage"
            ),
        ]

    def __str__(self):
        return self.key

    def clean(self):
        if self.start_at and self.end_at and self.end_at <= self.start_at:
            raise ValidationError({"end_at": "The end must come after the start."})


class Variant(models.Model):
    """One arm; the first (position 0) is the control."""

    experiment = models.ForeignKey(Experiment, on_delete=models.CASCADE, related_name="variants")
    key = models.SlugField(max_length=50)
    name = models.CharField(max_length=200, blank=True)
    position = models.PositiveSmallIntegerField()
    weight = models.FloatField(validators=[MinValueValidator(0), MaxValueValidator(1)])
    payload = models.JSONField(
        default=dict, blank=True, help_text="What the variant shows: content, layout, options."
    )

    class Meta:
        ordering = ["experiment", "position"]
        constraints = [
            models.UniqueConstraint(fields=["experiment", "key"], name="variant_unique_key"),
            models.UniqueConstraint(
                fields=["experiment", "position"], name="variant_unique_position"
            ),
        ]

    def __str__(self):
        return f"{self.experiment_id}:{self.key}"

    @property
    def is_control(self) -> bool:
        return self.position == 0


class Phase(models.Model):
    """A span of an experiment with one split: its seed, coverage and variants' weights."""

    experiment = models.ForeignKey(Experiment, on_delete=models.CASCADE, related_name="phases")
    number = models.PositiveSmallIntegerField()
    seed = models.CharField(max_length=150)
    coverage = models.FloatField()
    variants = models.JSONField(help_text='[{"key": ..., "weight": ...}] in position order.')
    reason = models.CharField(max_length=300)
    started_at = models.DateTimeField()
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["experiment", "number"]
        constraints = [
            models.UniqueConstraint(fields=["experiment", "number"], name="phase_unique_number")
        ]

    def __str__(self):
        return f"{self.experiment_id} phase {self.number}"


class StatusChange(models.Model):
    """Who moved an experiment from one status to another, when, and why."""

    experiment = models.ForeignKey(
        Experiment, on_delete=models.CASCADE, related_name="status_changes"
    )
    from_status = models.CharField(max_length=10, choices=Experiment.Status.choices, blank=True)
    to_status = models.CharField(max_length=10, choices=Experiment.Status.choices)
    note = models.CharField(max_length=300, blank=True)
    changed_at = models.DateTimeField()
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["experiment", "changed_at", "pk"]

    def __str__(self):
        return f"{self.experiment_id}: {self.from_status or '-'} -> {self.to_status}"


class ForcedVariant(models.Model):
    """Staff QA: this account always sees this variant of the experiment."""

    experiment = models.ForeignKey(Experiment, on_delete=models.CASCADE, related_name="forced")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    variant = models.ForeignKey(Variant, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["experiment", "user"], name="forced_variant_unique")
        ]

    def __str__(self):
        return f"user {self.user_id} forced to {self.variant}"

    def clean(self):
        if (
            self.variant_id
            and self.experiment_id
            and self.variant.experiment_id != self.experiment_id
        ):
            raise ValidationError({"variant": "This variant belongs to another experiment."})


class Exposure(models.Model):
    """The first time one subject (an account, "user:<id>", or a browser's anonymous id) saw
    a variant in a phase. Recorded once per subject and phase, with an analytics event beside
    it; a signed-in user's exposure also holds the user, so their variant survives a new
    device."""

    id = models.BigAutoField(primary_key=True)
    phase = models.ForeignKey(Phase, on_delete=models.CASCADE, related_name="exposures")
    subject = models.CharField(max_length=210)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    variant = models.PositiveSmallIntegerField(help_text="Position of the variant.")
    exposed_at = models.DateTimeField()
    # The fan's segment when first exposed, for breakdowns of the results.
    platform = models.CharField(max_length=10, blank=True)
    country = models.CharField(max_length=2, blank=True)
    is_new = models.BooleanField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["phase", "subject"], name="exposure_unique_subject")
        ]
        indexes = [
            models.Index(fields=["phase", "user"], name="exposure_phase_user_idx"),
            models.Index(fields=["phase", "exposed_at"], name="exposure_phase_time_idx"),
        ]

    def __str__(self):
        return f"{self.subject} saw variant {self.variant} in {self.phase}"


class Outcome(models.Model):
    """What one exposed subject did on one metric within the metric's window: `value` after
    exposure (a ratio's numerator), `pre_value` in as many days before it (for CUPED; a
    ratio has none), `denominator` a ratio's denominator after exposure. Computed off the
    request path by `experiments.results.services.results_compute`; a subject without a row
    did nothing (0 everywhere)."""

    id = models.BigAutoField(primary_key=True)
    exposure = models.ForeignKey(Exposure, on_delete=models.CASCADE, related_name="outcomes")
    metric = models.ForeignKey(Metric, on_delete=models.CASCADE, related_name="+")
    value = models.FloatField(default=0)
    pre_value = models.FloatField(default=0)
    denominator = models.FloatField(default=0, db_default=0)  # fast inserts may leave it out
    converted = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["exposure", "metric"], name="outcome_unique_metric")
        ]

    def __str__(self):
        return f"exposure {self.exposure_id} on {self.metric_id}: {self.value:g}"


class Cell(models.Model):
    """The totals of one metric's outcomes over the exposures of a phase that share a
    variant and a segment (platform, country, new or not, day of exposure): users exposed and
    the sums the analysis takes. Written with the outcomes, so the analysis and its
    breakdowns read a few hundred of these instead of joining every exposure to its outcome;
    users and outcomes come from the same moment."""

    id = models.BigAutoField(primary_key=True)
    phase = models.ForeignKey(Phase, on_delete=models.CASCADE, related_name="+")
    metric = models.ForeignKey(Metric, on_delete=models.CASCADE, related_name="+")
    variant = models.PositiveSmallIntegerField()
    platform = models.CharField(max_length=10, blank=True)
    country = models.CharField(max_length=2, blank=True)
    is_new = models.BooleanField(null=True, blank=True)
    day = models.DateField()
    users = models.PositiveIntegerField()
    converted = models.PositiveIntegerField()
    total = models.FloatField()
    squares = models.FloatField()
    pre_converted = models.PositiveIntegerField()
    pre_total = models.FloatField()
    pre_squares = models.FloatField()
    cross = models.FloatField()
    both_converted = models.PositiveIntegerField()
    denominator_total = models.FloatField()
    denominator_squares = models.FloatField()
    products = models.FloatField()

    class Meta:
        indexes = [models.Index(fields=["phase", "metric"], name="cell_phase_metric_idx")]

    def __str__(self):
        return f"{self.phase} on {self.metric_id}, variant {self.variant}, {self.day}"


class Result(models.Model):
    """The stored analysis of one metric in one phase of an experiment, refreshed by beat or
    on demand; the results page reads only these. `body` holds the engine's output beside
    each variant's totals, the segment breakdown (primary metric) and the daily series."""

    class Role(models.TextChoices):
        PRIMARY = "primary"
        SECONDARY = "secondary"
        GUARDRAIL = "guardrail"

    experiment = models.ForeignKey(Experiment, on_delete=models.CASCADE, related_name="results")
    phase = models.ForeignKey(Phase, on_delete=models.CASCADE, related_name="results")
    metric = models.ForeignKey(Metric, on_delete=models.CASCADE, related_name="+")
    role = models.CharField(max_length=10, choices=Role.choices)
    computed_at = models.DateTimeField()
    body = models.JSONField(default=dict)

    class Meta:
        ordering = ["phase", "role", "metric"]
        constraints = [
            models.UniqueConstraint(fields=["phase", "metric"], name="result_unique_metric")
        ]

    def __str__(self):
        return f"{self.phase} on {self.metric_id}"
