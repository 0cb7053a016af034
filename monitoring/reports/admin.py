from django.contrib import admin

from monitoring.exports.models import ExportJob
from monitoring.reports.models import Report, ReportSubscription


@admin.register(Report)
class ReportAdmin(admin.ModelAdmin):
    list_display = ["title", "kind", "period_start", "period_end", "generated_at", "sent_at"]
    list_filter = ["kind"]
    readonly_fields = [
        "kind", "period_start", "period_end", "generated_at", "title", "summary", "document",
        "sent_at",
    ]  # fmt: skip

    def has_add_permission(self, request):
        return False  # reports are generated: beat, or manage.py report_generate


@admin.register(ReportSubscription)
class ReportSubscriptionAdmin(admin.ModelAdmin):
    list_display = ["user", "kind", "created_at"]
    list_filter = ["kind"]
    list_select_related = ["user"]
    raw_id_fields = ["user"]


@admin.register(ExportJob)
class ExportJobAdmin(admin.ModelAdmin):
    list_display = ["pk", "requested_by", "kind", "format", "status", "progress", "created_at"]
    list_filter = ["status", "format", "kind"]
    list_select_related = ["requested_by"]
    readonly_fields = [
        "requested_by", "kind", "spec", "format", "status", "progress", "rows_done",
        "rows_total", "file", "error", "created_at", "started_at", "finished_at",
    ]  # fmt: skip

    def has_add_permission(self, request):
        return False
