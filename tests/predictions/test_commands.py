import json

import pytest
from django.core.management import CommandError, call_command


def write(tmp_path, shows):
    path = tmp_path / "shows.jsonl"
    lines = [
        json.dumps({"artist": a, "date": d, "songs": [{"title": t, "set": "1"} for t in songs]})
        for a, d, songs in shows
    ]
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


SONGS = [f"song {n}" for n in range(8)]


def test_evaluate_predictions_prints_the_baselines_and_no_model_yet(tmp_path, capsys):
    path = write(tmp_path, [("Band", f"2024-01-0{d}", SONGS) for d in range(1, 5)])
    call_command("evaluate_predictions", "--input", str(path), "--last", "2", "--json")
    out = json.loads(capsys.readouterr().out)
    assert out["Band"] == {
        "shows": 2,
        "r_precision": None,
        "recall_at_25": None,
        "brier": None,
        "baselines": {"freq10": 1.0, "freq50": 1.0, "notebook": 1.0, "prev": 1.0},
    }
    assert list(out) == ["Band", "overall"]


def test_evaluate_predictions_prints_a_table(tmp_path, capsys):
    path = write(tmp_path, [("Band", f"2024-01-0{d}", SONGS) for d in range(1, 4)])
    call_command("evaluate_predictions", "--input", str(path), "--no-progress")
    assert "Band" in capsys.readouterr().out


def test_evaluate_predictions_needs_a_good_input(tmp_path):
    with pytest.raises(CommandError, match="Pass --input"):
        call_command("evaluate_predictions")
    path = tmp_path / "bad.jsonl"
    path.write_text('{"artist": "Band"}\n', encoding="utf-8")
    with pytest.raises(CommandError, match="line 1: 'date' must be YYYY-MM-DD"):
        call_command("evaluate_predictions", "--input", str(path))
