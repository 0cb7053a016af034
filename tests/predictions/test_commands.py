import json

import pytest
from django.core.management import CommandError, call_command

from predictions.models import BacktestRun, ModelVersion
from tests.predictions.factories import band_import, band_lines

pytestmark = pytest.mark.django_db


def write(tmp_path, lines):
    path = tmp_path / "shows.jsonl"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def test_evaluate_predictions_prints_the_model_beside_the_baselines_and_stores_the_run(
    tmp_path, capsys
):
    path = write(tmp_path, band_lines())
    call_command("evaluate_predictions", "--input", str(path), "--last", "10", "--json")
    out = json.loads(capsys.readouterr().out)
    assert list(out) == ["Made-up Band", "overall"]
    band = out["Made-up Band"]
    assert band["shows"] == 10
    assert set(band["baselines"]) == {"freq10", "freq50", "notebook", "prev"}
    assert 0.5 < band["r_precision"] <= 1 and 0.5 < band["recall_at_25"] <= 1
    assert 0 <= band["brier"] < 0.1
    run = BacktestRun.objects.get()
    assert run.source == str(path) and run.last == 10
    assert run.summaries["Made-up Band"]["model"]["r_precision"] == band["r_precision"]
    assert len(run.shows) == 10 and run.calibration["model"]


def test_evaluate_predictions_reads_imported_history_by_default(capsys):
    band_import()
    call_command("evaluate_predictions", "--last", "5", "--no-progress", "--no-store")
    out = capsys.readouterr().out
    assert "Made-up Band" in out and "model" in out and "the whole backtest took" in out
    assert not BacktestRun.objects.exists()


def test_evaluate_predictions_needs_a_good_input(tmp_path):
    with pytest.raises(CommandError, match="No setlists to backtest"):
        call_command("evaluate_predictions")
    path = tmp_path / "bad.jsonl"
    path.write_text('{"artist": "Band"}\n', encoding="utf-8")
    with pytest.raises(CommandError, match="line 1: 'date' must be YYYY-MM-DD"):
        call_command("evaluate_predictions", "--input", str(path))
    short = write(tmp_path, band_lines(shows=4))
    with pytest.raises(CommandError, match="no show has enough history to learn from"):
        call_command("evaluate_predictions", "--input", str(short))
    with pytest.raises(CommandError, match="--last must be at least 1"):
        call_command("evaluate_predictions", "--input", str(short), "--last", "0")


def test_fit_predictions_stores_and_activates_a_model(tmp_path, capsys):
    path = write(tmp_path, band_lines())
    call_command("fit_predictions", "--input", str(path), "--last", "10", "--no-progress")
    version = ModelVersion.objects.get()
    assert version.is_active and version.training_window["Made-up Band"]["shows"] > 40
    out = capsys.readouterr().out
    assert f"Model v{version.pk} fitted" in out and "best baseline" in out
    call_command("fit_predictions", "--if-missing")
    assert ModelVersion.objects.count() == 1
    assert "nothing to do" in capsys.readouterr().out


def test_fit_predictions_without_setlists_is_a_clear_error():
    with pytest.raises(CommandError, match="No setlists to learn from"):
        call_command("fit_predictions", "--no-progress")
