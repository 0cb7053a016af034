import datetime as dt

import plotly.graph_objects as go
import pytest

from monitoring.dashboards.results import Answer, Grid, Series, draw, number_text

T = [dt.datetime(2026, 12, 6, h, tzinfo=dt.UTC) for h in range(3)]


def time_series() -> Answer:
    return Answer(
        value=9.0,
        series=(Series("email", tuple(T), (1, 2, 3)), Series("push", tuple(T), (0, None, 3))),
    )


@pytest.mark.parametrize("kind", ["line", "bar", "pie"])
def test_draw_series_gives_a_figure_plotly_accepts(kind):
    drawn = draw(kind, "Sent", time_series())

    go.Figure(drawn["figure"])  # raises on anything plotly does not take
    assert drawn["kind"] == kind and drawn["title"] == "Sent"


def test_draw_line_keeps_every_point_and_unknowns_as_gaps():
    traces = draw("line", "Sent", time_series())["figure"]["data"]

    assert [t["name"] for t in traces] == ["email", "push"]
    assert traces[0]["x"] == [t.isoformat() for t in T]
    assert traces[1]["y"] == [0, None, 3]


def test_draw_pie_over_time_has_a_slice_per_series_total():
    pie = draw("pie", "Sent", time_series())["figure"]["data"][0]

    assert pie["labels"] == ["email", "push"] and pie["values"] == [6, 3]


def test_draw_pie_of_categories_has_a_slice_per_point():
    answer = Answer(series=(Series("votes", ("Phish", "Wilco"), (7, 3)),))

    pie = draw("pie", "Votes", answer)["figure"]["data"][0]

    assert pie["labels"] == ["Phish", "Wilco"] and pie["values"] == [7, 3]


def test_draw_metric_shows_the_value_in_words():
    assert draw("metric", "Votes", Answer(value=12345.0))["text"] == "12,345"
    assert draw("metric", "Errors", Answer(value=0.0123, unit="%"))["text"] == "1.2 %"
    assert draw("metric", "Latency", Answer(value=None, unit="ms"))["text"] == "—"


def test_draw_gauge_scales_shares_to_percent_with_its_steps():
    drawn = draw(
        "gauge", "Errors", Answer(value=0.02, unit="%"),
        {"max": 0.05, "steps": [{"from": 0.03, "to": 0.05, "color": "#f99"}]},
    )  # fmt: skip

    go.Figure(drawn["figure"])
    gauge = drawn["figure"]["data"][0]
    assert gauge["value"] == 2.0
    assert gauge["gauge"]["axis"]["range"] == [0, 5.0]
    assert gauge["gauge"]["steps"][0]["range"] == [3.0, 5.0]


def test_draw_heatmap_keeps_the_grid():
    grid = Grid(("week 0", "week 1"), ("2026-11-02", "2026-11-09"), ((1.0, 0.5), (1.0, None)))

    drawn = draw("heatmap", "Retention", Answer(unit="%", grid=grid))

    go.Figure(drawn["figure"])
    assert drawn["figure"]["data"][0]["z"] == [[1.0, 0.5], [1.0, None]]


def test_draw_table_from_series_when_the_answer_has_no_rows():
    drawn = draw("table", "Sent", time_series())

    assert drawn["columns"] == ["", "email", "push"]
    assert drawn["rows"][1] == [T[1].isoformat(), 2, None]


def test_draw_table_rows_are_plain_json_values():
    answer = Answer(columns=("a", "b"), rows=((dt.date(2026, 1, 2), float("nan")),))

    assert draw("table", "t", answer)["rows"] == [["2026-01-02", None]]


def test_draw_refuses_an_unknown_kind():
    with pytest.raises(ValueError):
        draw("radar", "x", Answer())


@pytest.mark.parametrize(
    ("value", "unit", "text"),
    [(3.0, "", "3"), (2.5, "", "2.50"), (812.4, "ms", "812 ms"), (1.0, "%", "100.0 %")],
)
def test_number_text(value, unit, text):
    assert number_text(value, unit) == text


@pytest.mark.parametrize("kind", ["line", "bar", "pie"])
def test_an_empty_chart_says_so(kind):
    answer = Answer(series=(Series("votes", tuple(T), (0, None, 0)),))

    layout = draw(kind, "Votes", answer)["figure"]["layout"]

    assert layout["annotations"][0]["text"] == "Nothing in this range"
    assert "annotations" not in draw(kind, "Votes", time_series())["figure"]["layout"]
