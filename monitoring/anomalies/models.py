"""Anomaly findings, and the hourly request counts the HTTP error rate's baseline needs.
Imported into monitoring.models, where Django finds the app's models."""

from django.db import models


class AnomalyFinding(models.Model):
    """A subject of a seasonal series (the platform, or one show) found unusual by an alert
    rule in anomaly mode: one row per episode, refreshed at each evaluation that still finds
    it, and a new one once it has been normal for a while."""

    rule = models.ForeignKey(
        "monitoring.AlertRule", null=True, blank=True, on_delete=models.SET_NULL,
        related_name="findings",
    )  # fmt: skip
    metric = models.CharField(max_length=100)
    subject = models.CharField(max_length=100, blank=True, help_text='"" or show:<id>')
    window_start = models.DateTimeField()
    window_end = models.DateTimeField()
    observed = models.FloatField()
    baseline = models.FloatField(help_text="median of the same window in past weeks")
    scale = models.FloatField(help_text="1.4826 × their MAD, at least the series' floor")
    score = models.FloatField(help_text="robust (modified) z-score")
    peak_score = models.FloatField()
    sensitivity = models.FloatField()
    history = models.JSONField(default=list, help_text="the past weeks' values, latest first")
    first_seen_at = models.DateTimeField()
    last_seen_at = models.DateTimeField()
    evaluations = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["-last_seen_at", "-id"]
        indexes = [
            models.Index(fields=["metric", "subject", "-last_seen_at"], name="anomaly_subject_idx")
        ]

    def __str__(self):
        subject = f" {self.subject}" if self.subject else ""
        return f"{self.metric}{subject}: {self.observed:.4g} (usual {self.baseline:.4g})"


class RequestHour(models.Model):
    """Requests and server errors of one UTC hour, copied from the live store (which keeps
    26 hours) so the HTTP error rate has weeks of history to be held against."""

    hour = models.DateTimeField(unique=True)
    requests = models.PositiveBigIntegerField()
    errors = models.PositiveBigIntegerField()

    class Meta:
        ordering = ["-hour"]

    def __str__(self):
        return f"{self.hour:%Y-%m-%d %H:00}: {self.errors}/{self.requests}"
