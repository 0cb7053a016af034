"""The Engagement dashboard's vote funnel becomes a first-time funnel (read from the person
tables, fast over a month); a widget staff have edited since it was installed is left."""

from django.db import migrations

SHIPPED = {"steps": ["$pageview", "vote_cast"]}
NOW = {"steps": ["$pageview", "vote_cast"], "mode": "first_time", "window_hours": 168}


def forward(apps, schema_editor):
    Widget = apps.get_model("monitoring", "Widget")
    for widget in Widget.objects.filter(
        dashboard__slug="engagement", title="Page view to vote", source="funnel"
    ):
        if widget.params == SHIPPED:
            widget.title, widget.params = "First page view to first vote", NOW
            widget.save(update_fields=["title", "params"])


def backward(apps, schema_editor):
    Widget = apps.get_model("monitoring", "Widget")
    for widget in Widget.objects.filter(
        dashboard__slug="engagement", title="First page view to first vote", source="funnel"
    ):
        if widget.params == NOW:
            widget.title, widget.params = "Page view to vote", SHIPPED
            widget.save(update_fields=["title", "params"])


class Migration(migrations.Migration):
    dependencies = [("monitoring", "0005_reports_exports")]

    operations = [migrations.RunPython(forward, backward)]
