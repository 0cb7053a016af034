"""The Engagement dashboard's vote funnel becomes a first-time funnel (read from the person
tables, fast over a month); a widget staff have edited since it was installed is left."""

from django.db import migrations

SHIPPED = {"steps": ["$pageview", "vote_cast"]}
NOW = {"steps": ["$pageview", "vote_cast"], "mode": "first_time", "window_hours": 168}


def _swap(apps, old: tuple[str, dict], new: tuple[str, dict]) -> None:
    Widget = apps.get_model("monitoring", "Widget")
    for widget in Widget.objects.filter(
        dashboard__slug="engagement", title=old[0], source="funnel"
    ):
        if widget.params == old[1]:
            widget.title, widget.params = new
            widget.save(update_fields=["title", "params"])


def forward(apps, schema_editor):
    _swap(apps, ("Page view to vote", SHIPPED), ("First page view to first vote", NOW))


def backward(apps, schema_editor):
    _swap(apps, ("First page view to first vote", NOW), ("Page view to vote", SHIPPED))


class Migration(migrations.Migration):
    dependencies = [("monitoring", "0005_reports_exports")]

    operations = [migrations.RunPython(forward, backward)]
