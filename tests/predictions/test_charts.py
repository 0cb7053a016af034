from predictions.charts import accuracy_figure, best_baseline, calibration_figure, rolling_mean

SUMMARIES = {
    "Band": {
        "model": {"r_precision": 0.6},
        "freq10": {"r_precision": 0.3},
        "freq50": {"r_precision": 0.5},
    }
}


def test_rolling_mean_averages_the_window_before_each_value():
    assert rolling_mean([1, 2, 3, 4], 2) == [1, 1.5, 2.5, 3.5]
    assert rolling_mean([4, 2], 5) == [4, 3]
    assert rolling_mean([], 3) == []


def test_best_baseline_is_the_artists_highest_r_precision():
    assert best_baseline(SUMMARIES, "Band") == "freq50"
    assert best_baseline(SUMMARIES, "Nobody") is None


def test_accuracy_figure_draws_the_model_beside_the_best_baseline_in_date_order():
    shows = [
        ["Band", "2024-01-02", {"model": 1.0, "freq10": 0.0, "freq50": 0.5}],
        ["Band", "2024-01-01", {"model": 0.0, "freq10": 0.0, "freq50": 0.5}],
    ]
    figure = accuracy_figure(shows, SUMMARIES, window=2)
    model, baseline = figure["data"]
    assert model["name"] == "Band: model" and baseline["name"] == "Band: freq50"
    assert model["x"] == ["2024-01-01", "2024-01-02"]
    assert model["y"] == [0.0, 0.5] and baseline["y"] == [0.5, 0.5]
    assert baseline["line"]["dash"] == "dot"


def test_calibration_figure_plots_each_predictor_against_the_diagonal():
    figure = calibration_figure({"model": [[0.0, 0.1, 90, 0.05, 0.04], [0.9, 1.0, 10, 0.95, 0.9]]})
    diagonal, model = figure["data"]
    assert diagonal["x"] == [0, 1] and diagonal["y"] == [0, 1]
    assert model["x"] == [0.05, 0.95] and model["y"] == [0.04, 0.9]
    assert model["text"] == ["90 songs", "10 songs"]
