"""Dashboards staff keep in the database and edit in admin: a Dashboard is an ordered page of
Widgets, each a kind of chart over one query and time range."""

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from monitoring.dashboards.ranges import Interval, Range
from mysetlist.core.exceptions import ApplicationError
from mysetlist.core.models import TimeStampedModel


class Dashboard(TimeStampedModel):
    slug = models.SlugField(max_length=60, unique=True)
    title = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    position = models.PositiveSmallIntegerField(default=0)
    # A dashboard may also link a staff page of another app (the experiments and
    # predictions pages), shown above its widgets.
    page_url = models.CharField(
        max_length=200, blank=True, help_text="A staff page this dashboard leads to."
    )

    class Meta:
        ordering = ["position", "title"]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        from django.urls import reverse

        return reverse("monitoring:dashboard-detail", args=[self.slug])

    def clean(self):
        if self.page_url and not self.page_url.startswith("/"):
            raise ValidationError({"page_url": "A path on this site, starting with /."})


class Widget(models.Model):
    class Kind(models.TextChoices):
        METRIC = "metric", "Metric card"
        GAUGE = "gauge", "Gauge"
        LINE = "line", "Line chart"
        BAR = "bar", "Bar chart"
        PIE = "pie", "Pie chart"
        HEATMAP = "heatmap", "Heatmap"
        TABLE = "table", "Table"

    dashboard = models.ForeignKey(Dashboard, on_delete=models.CASCADE, related_name="widgets")
    title = models.CharField(max_length=120)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    source = models.CharField(max_length=40, help_text="The query: see the list below.")
    params = models.JSONField(default=dict, blank=True, help_text="The query's parameters.")
    range = models.CharField(max_length=5, choices=Range.choices, default=Range.DAY)
    interval = models.CharField(max_length=6, choices=Interval.choices, default=Interval.AUTO)
    width = models.PositiveSmallIntegerField(
        default=2,
        validators=[MinValueValidator(1), MaxValueValidator(4)],
        help_text="Columns of four on a wide screen; a phone shows one widget a row.",
    )
    position = models.PositiveSmallIntegerField(default=0)
    options = models.JSONField(
        default=dict, blank=True, help_text='For a gauge: {"min": 0, "max": 1, "steps": [...]}.'
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["position", "pk"]

    def __str__(self) -> str:
        return self.title

    def clean(self):
        from monitoring.dashboards.queries import query_check

        try:
            self.params = query_check(
                source_key=self.source, params=self.params, kind=self.kind,
                range_key=self.range, interval=self.interval,
            )  # fmt: skip
        except ApplicationError as exc:
            fields = exc.extra.get("fields", {})
            errors: dict[str, list[str]] = {}
            for name in fields:
                target = name.split(".")[0]
                target = (
                    target if target in {"source", "params", "kind", "range", "interval"} else None
                )
                errors.setdefault(target or "__all__", []).append(exc.message)
            raise ValidationError(errors or exc.message) from exc
        if not isinstance(self.options, dict):
            raise ValidationError({"options": 'An object, such as {"max": 100}.'})
