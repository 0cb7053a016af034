from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from mysetlist.core.access import staff_required

from . import charts
from .models import Result
from .results import selectors, services
from .verdict import guardrail_warnings, verdict


def _experiment(key: str):
    experiment = selectors.experiment_for_results(key=key)
    if experiment is None:
        raise Http404(f"There is no experiment {key!r}.")
    return experiment


@staff_required
@require_GET
def results_page(request, key):
    """An experiment's stored results: the verdict in words, guardrail warnings, charts and
    every figure per variant and metric. Nothing here reads raw events."""
    experiment = _experiment(key)
    phase = _phase(experiment, request.GET.get("phase"))
    results = selectors.results_latest(experiment=experiment, phase=phase) if phase else []
    primary = next((r for r in results if r.role == Result.Role.PRIMARY), None)
    sequential = experiment.sequential
    bodies = [r.body for r in results]
    context = {
        "experiment": experiment,
        "phase": phase,
        "phases": selectors.phase_numbers(experiment=experiment),
        "sequential": sequential,
        "computed_at": max((r.computed_at for r in results), default=None),
        "tables": [
            {"result": r, "rows": charts.figure_rows(r.body, sequential=sequential)}
            for r in results
        ],
    }
    if phase is not None and experiment.primary_metric_id:
        context["verdict"] = verdict(
            primary.body if primary else None,
            alpha=experiment.alpha,
            sequential=sequential,
            mde=experiment.minimum_detectable_effect,
            power=experiment.power,
        )
    if phase is not None:
        names = [v["key"] for v in phase.variants]
        context["warnings"] = guardrail_warnings(
            bodies, alpha=experiment.alpha, sequential=sequential
        )
        context["uplift_figure"] = charts.uplift_figure(bodies, sequential=sequential)
        context["exposures_figure"] = charts.exposures_figure(
            selectors.exposure_daily(phase=phase), names
        )
        context["metric_figure"] = charts.metric_figure(primary.body if primary else None, names)
        context["segments"] = charts.segment_rows(
            (primary.body.get("segments") or {}) if primary else {}
        )
    return render(request, "experiments/results.html", context)


@staff_required
@require_POST
def results_refresh(request, key):
    """Compute the experiment's outcomes and results now, then show them."""
    experiment = _experiment(key)
    phase = _phase(experiment, request.POST.get("phase"))
    stored = services.results_refresh(experiment=experiment, phase=phase) if phase else []
    if stored:
        messages.success(request, f"Results computed for {len(stored)} metrics.")
    else:
        messages.warning(request, "Nothing to compute: the experiment has no phase or metric.")
    url = reverse("experiments:experiment-results", kwargs={"key": experiment.key})
    return redirect(f"{url}?phase={phase.number}" if phase else url)


def _phase(experiment, number):
    """The phase asked for (the latest when none is), or 404 for one that does not exist."""
    phase = selectors.phase_numbered(experiment=experiment, number=number or None)
    if phase is None and number:
        raise Http404(f"Experiment {experiment.key!r} has no phase {number!r}.")
    return phase
