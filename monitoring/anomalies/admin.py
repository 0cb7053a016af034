"""Admin of anomaly findings (read-only: evaluation writes them). Imported by
monitoring.admin."""

from django.contrib import admin

from monitoring.anomalies.models import AnomalyFinding


@admin.register(AnomalyFinding)
class AnomalyFindingAdmin(admin.ModelAdmin):
    list_display = [
        "metric", "subject", "observed", "baseline", "scale", "score", "peak_score", "rule",
        "first_seen_at", "last_seen_at",
    ]  # fmt: skip
    list_filter = ["metric", "rule", "last_seen_at"]
    search_fields = ["metric", "subject"]
    list_select_related = ["rule"]
    readonly_fields = [
        "rule", "metric", "subject", "window_start", "window_end", "observed", "baseline",
        "scale", "score", "peak_score", "sensitivity", "history", "first_seen_at",
        "last_seen_at", "evaluations",
    ]  # fmt: skip

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
