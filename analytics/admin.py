from django.contrib import admin, messages

from analytics.models import (
    DistinctIdLink,
    ErasureRequest,
    IngestKey,
    Person,
    PlatformMetric,
    RollupRun,
)
from analytics.services import ingest_key_create
from mysetlist.core.admin import ReadOnlyAdminMixin


@admin.register(IngestKey)
class IngestKeyAdmin(admin.ModelAdmin):
    list_display = ["name", "prefix", "is_active", "is_public", "created_at"]
    list_filter = ["is_active", "is_public"]
    search_fields = ["name", "prefix"]
    readonly_fields = ["prefix", "created_at", "updated_at"]

    def save_model(self, request, obj, form, change):
        if change:
            return super().save_model(request, obj, form, change)
        key, secret = ingest_key_create(name=obj.name, is_public=obj.is_public)
        obj.pk = key.pk
        messages.warning(
            request, f"Ingest key {key.name}: {secret} — copy it now, it is not shown again."
        )


@admin.register(DistinctIdLink)
class DistinctIdLinkAdmin(admin.ModelAdmin):
    list_display = ["distinct_id", "user", "created_at"]
    search_fields = ["distinct_id", "user__username"]
    raw_id_fields = ["user"]


@admin.register(ErasureRequest)
class ErasureRequestAdmin(admin.ModelAdmin):
    list_display = ["user_id", "requested_at", "done_at", "events_deleted"]
    readonly_fields = ["user_id", "distinct_ids", "requested_at", "done_at", "events_deleted"]

    def has_add_permission(self, request):
        return False


@admin.register(PlatformMetric)
class PlatformMetricAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["day", "name", "value"]
    list_filter = ["name"]
    date_hierarchy = "day"


@admin.register(RollupRun)
class RollupRunAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["finished_at", "granularity", "buckets", "max_lag_ms"]
    list_filter = ["granularity"]


@admin.register(Person)
class PersonAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["key", "first_seen", "signed_up"]
    search_fields = ["key"]
    date_hierarchy = "first_seen"
