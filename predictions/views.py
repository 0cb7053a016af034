from django.shortcuts import render
from django.views.decorators.http import require_GET

from mysetlist.core.access import staff_required
from mysetlist.core.ids import parse_id

from . import charts, selectors
from .baselines import BASELINES


@staff_required
@require_GET
def staff_page(request):
    """How accurate predictions are: the stored backtests beside the baselines, with charts,
    and the running accuracy of live predictions scored against real setlists."""
    runs = selectors.backtest_run_list()
    run_id = parse_id(request.GET.get("run"))
    if run_id is not None:
        run = selectors.backtest_run_get(run_id=run_id)
    else:
        run = runs[0] if runs else None
    context = {
        "runs": runs,
        "run": run,
        "model": selectors.model_active_get(),
        "accuracy": selectors.prediction_accuracy(),
        "scored": selectors.prediction_scored_list(limit=50),
    }
    if run is not None:
        context["baseline_names"] = list(BASELINES)
        context["rows"] = charts.backtest_rows(run.summaries, baselines=list(BASELINES))
        context["accuracy_figure"] = charts.accuracy_figure(run.shows, run.summaries)
        context["calibration_figure"] = charts.calibration_figure(run.calibration)
    return render(request, "predictions/staff.html", context)
