"""Admin of experiments. Every change goes through the services: the forms validate what
they can show beside a field (weights that do not sum to 1, a split change of a running
experiment without a new phase) and the lifecycle moves are actions."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils.html import format_html

from mysetlist.core.exceptions import ApplicationError

from . import services
from .models import Experiment, ForcedVariant, Metric, Phase, StatusChange, Variant


class VariantFormSet(forms.BaseInlineFormSet):
    def clean(self):
        super().clean()
        if any(self.errors):
            return
        kept = [
            form.cleaned_data
            for form in self.forms
            if form.cleaned_data and not form.cleaned_data.get("DELETE")
        ]
        try:
            services.variants_validate(
                [services.VariantSpec(key=d["key"], weight=d["weight"]) for d in kept]
            )
        except ApplicationError as exc:
            raise ValidationError(
                list(exc.extra.get("fields", {}).values()) or exc.message
            ) from None
        experiment = self.instance
        if experiment.pk:
            stored = Experiment.objects.get(pk=experiment.pk)
            ordered = sorted(kept, key=lambda d: d["position"])
            split = [{"key": d["key"], "weight": d["weight"]} for d in ordered]
            moves = split != services.split_of(stored) or experiment.coverage < stored.coverage
            if stored.status == Experiment.Status.RUNNING and moves:
                if not getattr(experiment, "_new_phase", False):
                    raise ValidationError(
                        "This experiment is running: changing its variants, weights or "
                        "lowering its coverage moves fans between variants. Tick 'start a "
                        "new phase' and say why to do it."
                    )


class VariantInline(admin.TabularInline):
    model = Variant
    formset = VariantFormSet
    extra = 0
    min_num = 2
    fields = ["position", "key", "name", "weight", "payload"]


class PhaseInline(admin.TabularInline):
    model = Phase
    extra = 0
    can_delete = False
    fields = ["number", "seed", "coverage", "variants", "reason", "started_at", "ended_at"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


class StatusChangeInline(admin.TabularInline):
    model = StatusChange
    extra = 0
    can_delete = False
    fields = ["from_status", "to_status", "note", "changed_at", "changed_by"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


class ExperimentForm(forms.ModelForm):
    new_phase = forms.BooleanField(
        required=False,
        label="Start a new phase",
        help_text="Needed to change the split of a running experiment: everyone is "
        "randomised again and analysis starts over.",
    )
    phase_reason = forms.CharField(required=False, max_length=300, label="Why a new phase")

    class Meta:
        model = Experiment
        fields = "__all__"  # noqa: DJ007 — the admin lists them

    def clean(self):
        data = super().clean()
        if data.get("new_phase") and not (data.get("phase_reason") or "").strip():
            self.add_error("phase_reason", "Say why the new phase starts.")
        return data


@admin.register(Experiment)
class ExperimentAdmin(admin.ModelAdmin):
    form = ExperimentForm
    list_display = ["key", "name", "surface", "status", "coverage", "killed_at", "created_at"]
    list_filter = ["status", "surface"]
    search_fields = ["key", "name"]
    inlines = [VariantInline, PhaseInline, StatusChangeInline]
    readonly_fields = [
        "status", "results_link", "sample_size", "killed_at", "killed_by", "winner", "conclusion",
        "created_at", "created_by", "updated_at",
    ]  # fmt: skip
    autocomplete_fields = ["follows_artist"]
    filter_horizontal = ["secondary_metrics", "guardrail_metrics"]
    actions = ["start", "stop", "conclude", "kill", "revive"]

    @admin.display(description="Results")
    def results_link(self, obj):
        if not obj.pk:
            return "Save to see them."
        url = reverse("experiments:experiment-results", kwargs={"key": obj.key})
        return format_html('<a href="{}">The results page</a>', url)

    @admin.display(description="Sample size needed")
    def sample_size(self, obj):
        return services.sample_size_text(experiment=obj) if obj.pk else "Save to compute it."

    def save_form(self, request, form, change):
        experiment = form.save(commit=False)
        experiment._new_phase = form.cleaned_data.get("new_phase", False)
        experiment._phase_reason = form.cleaned_data.get("phase_reason", "")
        return experiment

    def save_model(self, request, obj, form, change):
        pass  # saved with its variants in save_related, by the services

    def save_related(self, request, form, formsets, change):
        variants = []
        for formset in formsets:
            # The services write the rows; the change message reads these.
            formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
            if formset.model is Variant:
                rows = [
                    f.cleaned_data
                    for f in formset.forms
                    if f.cleaned_data and not f.cleaned_data.get("DELETE")
                ]
                rows.sort(key=lambda d: d["position"])
                variants = [
                    services.VariantSpec(
                        key=d["key"], weight=d["weight"], name=d["name"], payload=d["payload"]
                    )
                    for d in rows
                ]
        data = {
            name: form.cleaned_data[name]
            for name in form.cleaned_data
            if name not in {"key", "name", "new_phase", "phase_reason"} and name in form.fields
        }
        experiment = form.instance
        if not change:
            created = services.experiment_create(
                key=experiment.key, name=experiment.name, variants=variants, by=request.user,
                **data,
            )  # fmt: skip
            experiment.pk = created.pk
            return
        services.experiment_update(
            experiment=experiment,
            by=request.user,
            variants=variants,
            new_phase=experiment._new_phase,
            reason=experiment._phase_reason,
            name=experiment.name,
            **data,
        )

    def _move(self, request, queryset, move, done, **kwargs):
        for experiment in queryset:
            try:
                move(experiment=experiment, by=request.user, **kwargs)
            except ApplicationError as exc:
                self.message_user(request, f"{experiment.key}: {exc.message}", messages.ERROR)
            else:
                self.message_user(request, f"{experiment.key}: {done}.")

    @admin.action(description="Start (or resume) the selected experiments")
    def start(self, request, queryset):
        self._move(request, queryset, services.experiment_start, "running")

    @admin.action(description="Stop the selected experiments (everyone sees the control)")
    def stop(self, request, queryset):
        self._move(request, queryset, services.experiment_stop, "stopped")

    @admin.action(description="Conclude the selected experiments (no winner rolled out)")
    def conclude(self, request, queryset):
        self._move(request, queryset, services.experiment_conclude, "concluded")

    @admin.action(description="Kill switch: everyone sees the control now")
    def kill(self, request, queryset):
        self._move(request, queryset, services.experiment_kill, "everyone sees the control")

    @admin.action(description="Lift the kill switch")
    def revive(self, request, queryset):
        self._move(request, queryset, services.experiment_kill, "kill switch lifted", on=False)


@admin.register(Metric)
class MetricAdmin(admin.ModelAdmin):
    list_display = ["key", "name", "kind", "event", "window_days", "higher_is_better"]
    list_filter = ["kind"]
    search_fields = ["key", "name", "event"]

    def save_model(self, request, obj, form, change):
        services.metric_save(metric=obj)

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)

        class MetricForm(form):
            def clean(self):
                data = super().clean()
                if not self.errors:
                    try:
                        services.metric_events_check(metric=self.instance)
                    except ApplicationError as exc:
                        for name, message in exc.extra.get("fields", {}).items():
                            self.add_error(name, message)
                return data

        return MetricForm


@admin.register(ForcedVariant)
class ForcedVariantAdmin(admin.ModelAdmin):
    list_display = ["experiment", "user", "variant", "created_at", "created_by"]
    list_select_related = ["experiment", "user", "variant"]
    autocomplete_fields = ["user"]
    readonly_fields = ["created_at", "created_by"]

    def save_model(self, request, obj, form, change):
        services.variant_force(
            experiment=obj.experiment, user=obj.user, variant_key=obj.variant.key, by=request.user
        )

    def delete_model(self, request, obj):
        services.variant_force(experiment=obj.experiment, user=obj.user, variant_key=None)

    def delete_queryset(self, request, queryset):
        for forced in queryset.select_related("experiment", "user"):
            self.delete_model(request, forced)
