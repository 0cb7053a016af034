from django.contrib import admin
from django.utils.html import format_html, format_html_join

from monitoring.dashboards import queries
from monitoring.dashboards.models import Dashboard, Widget


def _queries_help() -> str:
    rows = format_html_join(
        "",
        "<li><code>{}</code> — {}{}</li>",
        (
            (
                found.key,
                found.label,
                (
                    ": "
                    + ", ".join(
                        f"{name}{' (required)' if spec.required else ''}"
                        + (f" = {' | '.join(map(str, spec.choices))}" if spec.choices else "")
                        for name, spec in found.params.items()
                    )
                )
                if found.params
                else "",
            )  # fmt: skip
            for found in queries.sources()
        ),
    )
    return format_html("Queries and their parameters:<ul>{}</ul>", rows)


class WidgetInline(admin.StackedInline):
    model = Widget
    extra = 0
    fields = [("title", "kind", "width", "position"), ("source", "range", "interval"),
              "params", "options"]  # fmt: skip

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        formset.form.base_fields["source"].help_text = _queries_help()
        return formset


@admin.register(Dashboard)
class DashboardAdmin(admin.ModelAdmin):
    list_display = ["title", "slug", "position", "widget_count", "open_link"]
    prepopulated_fields = {"slug": ["title"]}
    inlines = [WidgetInline]

    @admin.display(description="widgets")
    def widget_count(self, obj):
        return obj.widgets.count()

    @admin.display(description="page")
    def open_link(self, obj):
        return format_html('<a href="{}">open</a>', obj.get_absolute_url())
