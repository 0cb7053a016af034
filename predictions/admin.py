from django.contrib import admin, messages

from . import services
from .models import (
    BacktestRun,
    ChurnModel,
    FanEngagement,
    ModelVersion,
    PredictionSettings,
    ShowPrediction,
)


@admin.register(ModelVersion)
class ModelVersionAdmin(admin.ModelAdmin):
    list_display = ["__str__", "created_at", "is_active", "rows", "fit_seconds", "sklearn_version"]
    readonly_fields = [
        "created_at", "created_by", "is_active", "features", "parameters", "training_window",
        "evaluation", "sklearn_version", "rows", "fit_seconds",
    ]  # fmt: skip
    actions = ["activate"]

    def get_queryset(self, request):
        return super().get_queryset(request).defer("blob")

    def has_add_permission(self, request):
        return False  # models are fitted by `manage.py fit_predictions`

    @admin.action(description="Make the selected model the active one")
    def activate(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one model.", messages.ERROR)
            return
        version = services.model_activate(version=queryset.get())
        self.message_user(request, f"{version} is active; predictions follow within a minute.")


@admin.register(PredictionSettings)
class PredictionSettingsAdmin(admin.ModelAdmin):
    list_display = ["__str__", "vote_weight", "min_history", "updated_at", "updated_by"]
    readonly_fields = ["updated_at", "updated_by"]

    def has_add_permission(self, request):
        return not PredictionSettings.objects.exists()

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        services.prediction_settings_update(
            user=request.user,
            vote_weight=form.cleaned_data["vote_weight"],
            min_history=form.cleaned_data["min_history"],
        )


@admin.register(ShowPrediction)
class ShowPredictionAdmin(admin.ModelAdmin):
    list_display = [
        "show_id", "generated_at", "model_version", "expected_length", "note", "r_precision",
        "recall_at_25", "brier",
    ]  # fmt: skip
    list_filter = ["model_version", ("scored_at", admin.EmptyFieldListFilter)]
    search_fields = ["show__id"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(BacktestRun)
class BacktestRunAdmin(admin.ModelAdmin):
    list_display = ["__str__", "last", "seconds", "fit_seconds"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(ChurnModel)
class ChurnModelAdmin(admin.ModelAdmin):
    list_display = ["__str__", "created_at", "auc", "churn_rate", "fitted_users", "evaluated_users"]

    def has_add_permission(self, request):
        return False  # fitted by `manage.py fit_engagement` and daily by beat

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(FanEngagement)
class FanEngagementAdmin(admin.ModelAdmin):
    list_display = ["user", "engagement", "churn_risk", "days_since_active", "computed_at"]
    list_select_related = ["user"]
    search_fields = ["user__username", "user__email"]
    ordering = ["-churn_risk"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
