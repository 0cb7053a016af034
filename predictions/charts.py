"""Figures of the predictions staff page as plain plotly figure dicts (data + layout), and
its table, built from stored backtest runs. Pure: imports nothing from Django; one static
script draws the figures."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from .backtest import MODEL
from .evaluation import OVERALL

COLOURS = {
    "model": "#c2185b",
    "freq10": "#1f77b4",
    "freq50": "#ff7f0e",
    "notebook": "#2ca02c",
    "prev": "#9467bd",
}
OTHER = "#7f7f7f"
ARTIST_COLOURS = ("#c2185b", "#1f77b4", "#2ca02c", "#9467bd", "#8c564b", "#ff7f0e")


def rolling_mean(values: Sequence[float], window: int) -> list[float]:
    """Return the mean of each value and the `window - 1` before it (fewer at the start)."""
    out, total = [], 0.0
    for i, value in enumerate(values):
        total += value
        if i >= window:
            total -= values[i - window]
        out.append(total / min(i + 1, window))
    return out


def best_baseline(summaries: Mapping[str, Mapping[str, Mapping]], artist: str) -> str | None:
    """Return the name of the artist's best baseline by R-precision."""
    figures = {k: v["r_precision"] for k, v in summaries.get(artist, {}).items() if k != MODEL}
    return max(figures, key=figures.get) if figures else None


def backtest_rows(summaries: Mapping[str, Mapping], *, baselines: Sequence[str]) -> list[dict]:
    """Return the table of a run: artists by name and all of them last (stored JSON keeps
    no key order), each with the model's figures, each baseline's R-precision in the order
    of `baselines`, and the name of its best baseline."""
    artists = sorted(a for a in summaries if a != OVERALL)
    if OVERALL in summaries:
        artists.append(OVERALL)
    return [
        {
            "artist": "All artists" if artist == OVERALL else artist,
            "model": summaries[artist].get(MODEL),
            "baselines": [
                (name, summaries[artist].get(name, {}).get("r_precision")) for name in baselines
            ],
            "best": best_baseline(summaries, artist),
        }
        for artist in artists
    ]


def accuracy_figure(
    shows: Sequence[Sequence], summaries: Mapping[str, Mapping], *, window: int = 20
) -> dict:
    """Return R-precision over time per artist, a rolling mean of `window` shows: the model
    (solid) beside the artist's best baseline (dotted). `shows` are a run's
    [artist, date, {predictor: R-precision}] rows."""
    by_artist: dict[str, list] = {}
    for artist, date, scores in shows:
        by_artist.setdefault(artist, []).append((date, scores))
    data = []
    for n, (artist, rows) in enumerate(sorted(by_artist.items())):
        rows.sort(key=lambda row: row[0])
        dates = [date for date, _ in rows]
        colour = ARTIST_COLOURS[n % len(ARTIST_COLOURS)]
        baseline = best_baseline(summaries, artist)
        for name, dash in ((MODEL, "solid"), (baseline, "dot")):
            if name is None:
                continue
            data.append(
                {
                    "type": "scatter",
                    "mode": "lines",
                    "name": f"{artist}: {name}",
                    "x": dates,
                    "y": [round(v, 4) for v in rolling_mean([s[name] for _, s in rows], window)],
                    "line": {"color": colour, "dash": dash},
                }
            )
    return {
        "data": data,
        "layout": {
            "title": {"text": f"R-precision, rolling mean of {window} shows"},
            "xaxis": {"title": {"text": "Show date"}},
            "yaxis": {"title": {"text": "R-precision"}, "range": [0, 1]},
            "legend": {"orientation": "h"},
            "margin": {"t": 40, "r": 10},
        },
    }


def calibration_figure(calibration: Mapping[str, Sequence[Sequence]]) -> dict:
    """Return predicted probability against the share observed, per predictor, beside the
    diagonal of perfect calibration. `calibration` maps a predictor to its
    [lower, upper, count, mean predicted, observed] bins."""
    data = [
        {
            "type": "scatter",
            "mode": "lines",
            "name": "perfect",
            "x": [0, 1],
            "y": [0, 1],
            "line": {"color": "#bbbbbb", "dash": "dash"},
        }
    ]
    for name, bins in calibration.items():
        if not bins:
            continue
        data.append(
            {
                "type": "scatter",
                "mode": "lines+markers",
                "name": name,
                "x": [b[3] for b in bins],
                "y": [b[4] for b in bins],
                "text": [f"{b[2]} songs" for b in bins],
                "line": {"color": COLOURS.get(name, OTHER), "width": 3 if name == MODEL else 1},
            }
        )
    return {
        "data": data,
        "layout": {
            "title": {"text": "Calibration: predicted probability against the share played"},
            "xaxis": {"title": {"text": "Predicted"}, "range": [0, 1]},
            "yaxis": {"title": {"text": "Observed"}, "range": [0, 1]},
            "legend": {"orientation": "h"},
            "margin": {"t": 40, "r": 10},
        },
    }
