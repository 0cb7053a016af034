import datetime as dt

import pytest

from experiments import charts
from tests.experiments.test_verdict import body


def test_uplift_figure_has_a_point_with_its_interval_per_variant_and_a_zero_line():
    votes = body((1000, 100), (1000, 150))
    small = body((10, 1), (10, 2), name="Shares")
    figure = charts.uplift_figure([votes, small], sequential=True)
    row = votes["analysis"]["variants"]["b"]
    trace = figure["data"][0]
    assert trace["y"] == ["Votes · b"]  # no figures, no point
    assert trace["x"] == [row["relative_uplift"]]
    assert trace["error_x"]["array"] == [pytest.approx(row["seq_ci95"][1] - trace["x"][0])]
    assert trace["error_x"]["arrayminus"] == [pytest.approx(trace["x"][0] - row["seq_ci95"][0])]
    assert figure["layout"]["shapes"][0]["x0"] == 0
    assert "sequential" in figure["layout"]["title"]["text"]


def test_exposures_figure_is_cumulative_by_day_with_empty_days_as_zero():
    d1, d2 = dt.date(2026, 1, 1), dt.date(2026, 1, 2)
    figure = charts.exposures_figure([(d1, 0, 5), (d1, 1, 4), (d2, 1, 3)], ["control", "b"])
    assert [t["name"] for t in figure["data"]] == ["control", "b"]
    assert figure["data"][0]["x"] == ["2026-01-01", "2026-01-02"]
    assert [t["y"] for t in figure["data"]] == [[5, 5], [4, 7]]


def test_metric_figure_draws_the_stored_series_and_nothing_without_one():
    votes = body((1000, 100), (1000, 150))
    votes["series"] = {"days": ["2026-01-01"], "variants": {"control": [0.1], "b": [0.15]}}
    figure = charts.metric_figure(votes)
    assert [(t["name"], t["y"]) for t in figure["data"]] == [("control", [0.1]), ("b", [0.15])]
    assert figure["layout"]["yaxis"] == {"tickformat": ".1%"}
    assert charts.metric_figure(None)["data"] == []


def test_figure_rows_give_every_figure_as_text_and_reasons_in_words():
    rows = charts.figure_rows(body((1000, 100), (1000, 150)), sequential=False)
    assert rows[0] == {"variant": "control", "control": True, "users": 1000, "value": "10.00%"}
    assert rows[1]["uplift"] == "+50.0%" and rows[1]["ci"].count("%") == 2
    assert rows[1]["reason"] is None and rows[1]["p"] != "—"
    lacking = charts.figure_rows(body((10, 1), (10, 2)), sequential=False)[1]
    assert lacking["reason"] == "Fewer than 50 users in this variant."
    assert lacking["uplift"] == "—" and lacking["p"] == "—"


def test_segment_rows_flatten_each_segment_and_variant():
    segments = {
        "platform": [
            {"value": "ios", "users": 2000, "analysis": body((1000, 100), (1000, 150))["analysis"]},
            {"value": "web", "users": 3, "analysis": None, "error": "The totals cannot be ..."},
        ]
    }
    rows = charts.segment_rows(segments)["platform"]
    assert [(r["value"], r.get("variant")) for r in rows] == [("ios", "b"), ("web", None)]
    assert rows[0]["uplift"] == "+50.0%" and rows[1]["reason"].startswith("The totals")


def test_metric_figure_orders_and_colours_variants_as_the_other_charts():
    votes = body((1000, 100), (1000, 150))
    # As PostgreSQL gives a stored body back: its keys sorted, "b" before "control".
    votes["series"] = {"days": ["2026-01-01"], "variants": {"b": [0.15], "control": [0.1]}}
    figure = charts.metric_figure(votes, ["control", "b"])
    exposures = charts.exposures_figure([], ["control", "b"])
    assert [t["name"] for t in figure["data"]] == ["control", "b"]
    assert [t["line"] for t in figure["data"]] == [t["line"] for t in exposures["data"]]
