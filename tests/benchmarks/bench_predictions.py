"""The whole honest backtest on the shared setlists: features, fit and walk-forward over each
artist's last 200 shows, beside the baselines alone measured in the same run.

    make bench-predictions [SHOWS=../shared/data/setlists/shows.jsonl] [LAST=200]

Target: the whole backtest under 2 minutes on 2 cores. Needs no database.
"""

import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from predictions.backtest import MODEL, backtest  # noqa: E402
from predictions.baselines import BASELINES  # noqa: E402
from predictions.evaluation import OVERALL, walk_forward  # noqa: E402
from predictions.history import shows_read  # noqa: E402

SHOWS = Path(os.environ.get("SHOWS", ROOT.parent / "shared/data/setlists/shows.jsonl"))
LAST = int(os.environ.get("LAST", "200"))
TARGET_SECONDS = 120


def main() -> None:
    if not SHOWS.exists():
        sys.exit(f"{SHOWS} is missing: set SHOWS to a file in the shared format")
    cores = os.cpu_count()
    started = time.perf_counter()
    shows = shows_read(SHOWS)
    read = time.perf_counter() - started

    started = time.perf_counter()
    walk_forward(shows, BASELINES, last=LAST)
    baselines_only = time.perf_counter() - started

    result = backtest(shows, last=LAST)
    print(f"{len(shows)} shows read in {read:.1f} s; {cores} cores; last {LAST} shows per artist")
    print(f"baselines alone (same run):      {baselines_only:6.1f} s")
    print(
        f"model backtest (fit + predict):  {result.seconds:6.1f} s "
        f"(fit {result.fit_seconds:.1f} s)   target < {TARGET_SECONDS} s: "
        f"{'met' if result.seconds < TARGET_SECONDS else 'MISSED'}"
    )
    print(f"\n{'artist':<20} {'model':>6} {'best baseline':>22} {'rec@25':>7} {'Brier':>7}")
    for artist, by_name in result.report.summaries.items():
        model = by_name[MODEL]
        name, best = max(
            ((n, s) for n, s in by_name.items() if n != MODEL), key=lambda item: item[1].r_precision
        )
        label = "all four" if artist == OVERALL else artist
        print(
            f"{label:<20} {model.r_precision:6.3f} {name:>14} {best.r_precision:7.3f} "
            f"{model.recall_at_25:7.3f} {model.brier:7.4f}"
        )


if __name__ == "__main__":
    main()
