from django.contrib.admin.views.decorators import staff_member_required
from django.shortcuts import render
from django.views.decorators.http import require_GET

from mysetlist.core.ids import parse_id

from . import charts, selectors
from .baselines import BASELINES
from .evaluation import OVERALL


@staff_member_required
@require_GET
def staff_page(request):
    """How accurate predictions are: the stored backtests beside the baselines, with charts,
    and the running accuracy of live predictions scored against real setlists."""
    runs = selectors.backtest_run_list()
    run_id = parse_id(request.GET.get("run"))
    run = next((r for r in runs if r.pk == run_id), None) if run_id else None
    if run is None and run_id is not None:
        run = selectors.backtest_run_get(run_id=run_id)
    run = run or (runs[0] if runs else None)
    context = {
        "runs": runs,
        "run": run,
        "model": selectors.model_active_get(),
        "accuracy": selectors.prediction_accuracy(),
        "scored": selectors.prediction_scored_list(limit=50),
    }
    if run is not None:
        # Stored JSON keeps no key order: artists by name, all of them last, baselines as
        # the table's columns.
        artists = sorted(a for a in run.summaries if a != OVERALL) + [OVERALL]
        context["baseline_names"] = list(BASELINES)
        context["rows"] = [
            {
                "artist": "All artists" if artist == OVERALL else artist,
                "model": run.summaries[artist].get("model"),
                "baselines": [
                    (name, run.summaries[artist].get(name, {}).get("r_precision"))
                    for name in BASELINES
                ],
                "best": charts.best_baseline(run.summaries, artist),
            }
            for artist in artists
            if artist in run.summaries
        ]
        context["accuracy_figure"] = charts.accuracy_figure(run.shows, run.summaries)
        context["calibration_figure"] = charts.calibration_figure(run.calibration)
    return render(request, "predictions/staff.html", context)
