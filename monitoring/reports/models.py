"""Scheduled reports: each generated report (Report), one per kind and period, kept with its
document for its page and downloads; and which staff are sent which kind
(ReportSubscription)."""

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone


class ReportKind(models.TextChoices):
    DAILY = "daily", "Daily summary"
    WEEKLY = "weekly", "Weekly cohorts and retention"
    MONTHLY = "monthly", "Monthly review"
    NOTIFICATIONS = "notifications", "Weekly notification report"


class Report(models.Model):
    kind = models.CharField(max_length=20, choices=ReportKind.choices)
    period_start = models.DateTimeField()
    period_end = models.DateTimeField()  # exclusive
    generated_at = models.DateTimeField(default=timezone.now)
    title = models.CharField(max_length=200)
    summary = models.JSONField(default=list, help_text="the headline lines, as texts")
    document = models.JSONField(help_text="the whole report, as monitoring.exports.document")
    sent_at = models.DateTimeField(null=True, blank=True)  # subscribers were told

    class Meta:
        ordering = ["-period_start", "kind"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "period_start"], name="report_one_per_period"),
            models.CheckConstraint(
                condition=models.Q(period_start__lt=models.F("period_end")),
                name="report_period_starts_before_it_ends",
            ),
        ]

    def __str__(self):
        return self.title

    def get_absolute_url(self):
        return reverse("reports:detail", args=[self.pk])


class ReportSubscription(models.Model):
    """A staff member is sent each new report of this kind."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="report_subscriptions"
    )
    kind = models.CharField(max_length=20, choices=ReportKind.choices)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["kind", "user_id"]
        constraints = [
            models.UniqueConstraint(fields=["user", "kind"], name="report_subscription_unique")
        ]

    def __str__(self):
        return f"{self.user} gets {self.get_kind_display()}"
