from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models


class ModelVersion(models.Model):
    """One fitted setlist model: the classifier, what it learned from and how it scored."""

    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    is_active = models.BooleanField(default=False)
    features = models.JSONField(default=list, blank=True)
    parameters = models.JSONField(default=dict, blank=True)
    # artist -> {"first": date, "last": date, "shows": n}: the shows the classifier learned from
    training_window = models.JSONField(default=dict, blank=True)
    # the backtest of the same recipe, fitted before each artist's last shows and scored on them
    evaluation = models.JSONField(default=dict, blank=True)
    sklearn_version = models.CharField(max_length=20)
    rows = models.PositiveIntegerField(default=0)
    fit_seconds = models.FloatField(default=0)
    blob = models.BinaryField(editable=False)

    class Meta:
        ordering = ["-created_at"]
        get_latest_by = "created_at"
        constraints = [
            models.UniqueConstraint(
                fields=["is_active"], condition=models.Q(is_active=True), name="one_active_model"
            )
        ]

    def __str__(self):
        return f"model v{self.pk}{' (active)' if self.is_active else ''}"


class PredictionSettings(models.Model):
    """The blend staff may change without refitting; one row (pk 1)."""

    vote_weight = models.FloatField(
        default=1.0,
        validators=[MinValueValidator(0), MaxValueValidator(5)],
        help_text="How far fan votes move a song: added to its log-odds for the top-voted song, "
        "in proportion for the others (0: votes are ignored). History holds no votes, so this "
        "is set, not learned.",
    )
    min_history = models.PositiveSmallIntegerField(
        default=5,
        validators=[MinValueValidator(1), MaxValueValidator(100)],
        help_text="Fewer earlier shows with setlists than this: no prediction, "
        "'not enough history'.",
    )
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name_plural = "prediction settings"

    def __str__(self):
        return "Prediction settings"


class ShowPrediction(models.Model):
    """A show's predicted setlist: one row per show, made again while the show is upcoming,
    frozen once its day begins; scored once its setlist is known."""

    show = models.OneToOneField("setlists.Show", on_delete=models.CASCADE, related_name="+")
    model_version = models.ForeignKey(
        ModelVersion, on_delete=models.SET_NULL, null=True, blank=True, related_name="predictions"
    )
    generated_at = models.DateTimeField()
    votes_version = models.BigIntegerField(default=0)  # the show's votes when it was made
    settings_at = models.DateTimeField(null=True, blank=True)  # the settings it was made with
    history_shows = models.PositiveIntegerField(default=0)
    expected_length = models.PositiveSmallIntegerField(default=0)
    note = models.CharField(max_length=200, blank=True)  # why there are no songs, if none
    # [{"song_id", "probability", "reason"}], most likely first
    songs = models.JSONField(default=list, blank=True)
    main_set = models.JSONField(default=list, blank=True)  # song ids in predicted order
    encore = models.JSONField(default=list, blank=True)
    scored_at = models.DateTimeField(null=True, blank=True)
    scored_setlist = models.JSONField(default=list, blank=True)  # the song ids scored against
    r_precision = models.FloatField(null=True, blank=True)
    recall_at_25 = models.FloatField(null=True, blank=True)
    jaccard = models.FloatField(null=True, blank=True)
    brier = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["-generated_at", "-id"]
        indexes = [models.Index(fields=["scored_at"], name="prediction_scored_idx")]

    def __str__(self):
        return f"prediction of show {self.show_id}"


class BacktestRun(models.Model):
    """One `evaluate_predictions` run: the model and the baselines, walk-forward."""

    created_at = models.DateTimeField(auto_now_add=True)
    source = models.CharField(max_length=300)  # a file's name, or "imported history"
    last = models.PositiveIntegerField()
    # artist (and "overall") -> predictor -> {"shows", "r_precision", "recall_at_25", ...}
    summaries = models.JSONField(default=dict, blank=True)
    # predictor -> [[lower, upper, count, mean predicted, observed]]
    calibration = models.JSONField(default=dict, blank=True)
    shows = models.JSONField(default=list, blank=True)  # [[artist, date, {predictor: R-prec}]]
    training_window = models.JSONField(default=dict, blank=True)
    seconds = models.FloatField(default=0)
    fit_seconds = models.FloatField(default=0)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"backtest of {self.source} ({self.created_at or 'unsaved'})"


class ChurnModel(models.Model):
    """One fitted churn model: its weights and its evaluation on a later date (time split)."""

    created_at = models.DateTimeField(auto_now_add=True)
    horizon_days = models.PositiveSmallIntegerField()
    fitted_as_of = models.DateField()
    evaluated_as_of = models.DateField()
    fitted_users = models.PositiveIntegerField()
    evaluated_users = models.PositiveIntegerField()
    auc = models.FloatField(null=True, blank=True)
    churn_rate = models.FloatField(help_text="The share of fans who churned in the evaluation.")
    # feature -> weight on the standardised feature; a positive weight raises the churn risk
    weights = models.JSONField(default=dict, blank=True)
    intercept = models.FloatField()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        auc = f"{self.auc:.3f}" if self.auc is not None else "n/a"
        return f"churn model {self.fitted_as_of} (AUC {auc})"


class FanEngagement(models.Model):
    """A fan's engagement (0-100, their rank among active fans) and churn risk, refreshed
    daily for the fans active in the last 90 days."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    engagement = models.FloatField()
    churn_risk = models.FloatField()
    days_since_active = models.PositiveIntegerField()
    model = models.ForeignKey(ChurnModel, on_delete=models.SET_NULL, null=True, related_name="+")
    computed_at = models.DateTimeField()

    class Meta:
        ordering = ["-churn_risk"]
        indexes = [models.Index(fields=["churn_risk"], name="fan_engagement_risk_idx")]

    def __str__(self):
        return f"{self.user_id}: engagement {self.engagement:.0f}, churn risk {self.churn_risk:.0%}"
