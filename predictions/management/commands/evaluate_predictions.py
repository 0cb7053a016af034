import json as jsonlib
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from predictions.baselines import BASELINES
from predictions.evaluation import MIN_SONGS, OVERALL, evaluation_targets, walk_forward
from predictions.history import HistoryError, shows_read


class Command(BaseCommand):
    help = (
        "Backtest setlist predictions walk-forward (each show predicted only from earlier "
        "shows) on a JSON-lines file in the shared format, beside the honest baselines "
        "(freq10, freq50, notebook, prev). The model comes next: until it exists its fields "
        "(r_precision, recall_at_25, brier) are null and only the baselines are scored."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--input",
            type=Path,
            help="Shows to backtest, one JSON object a line (the shared format). Required "
            "until backtests of imported history exist.",
        )
        parser.add_argument(
            "--last", type=int, default=200, help="Shows evaluated per artist (default 200)."
        )
        parser.add_argument("--json", action="store_true", help="Print the results as JSON.")
        parser.add_argument("--no-progress", action="store_true", help="Hide the progress bar.")

    def handle(self, *args, input, last, json, no_progress, **options):
        if input is None:
            raise CommandError(
                "Pass --input FILE.jsonl: backtests of imported history come with the model."
            )
        if last < 1:
            raise CommandError("--last must be at least 1.")
        try:
            shows = shows_read(input)
        except HistoryError as error:
            raise CommandError(str(error)) from error
        by_artist: dict[str, list] = {}
        for show in shows:
            by_artist.setdefault(show.artist, []).append(show)
        total = sum(
            len(evaluation_targets(history, last=last, min_songs=MIN_SONGS))
            for history in by_artist.values()
        )
        with tqdm(
            total=total, desc="shows", unit=" shows", disable=no_progress, file=self.stderr._out
        ) as bar:
            report = walk_forward(shows, BASELINES, last=last, progress=bar.update)
        if json:
            self.stdout.write(_json_dumps(report.summaries))
        else:
            self._write_table(report.summaries)

    def _write_table(self, summaries) -> None:
        self.stdout.write(
            f"{'artist':<24} {'baseline':<9} {'shows':>5} {'R-prec':>7} {'rec@25':>7} "
            f"{'Jaccard':>7} {'Brier':>7}"
        )
        for artist, by_name in summaries.items():
            for name, s in by_name.items():
                self.stdout.write(
                    f"{artist:<24} {name:<9} {s.shows:>5} {s.r_precision:>7.3f} "
                    f"{s.recall_at_25:>7.3f} {s.jaccard:>7.3f} {s.brier:>7.4f}"
                )
        self.stdout.write("The model comes next; these are the baselines it must beat.")


def _json_dumps(summaries) -> str:
    out = {}
    for artist, by_name in summaries.items():
        shows = next(iter(by_name.values())).shows if by_name else 0
        out[artist] = {
            "shows": shows,
            "r_precision": None,  # the model's, once it exists
            "recall_at_25": None,
            "brier": None,
            "baselines": {name: round(s.r_precision, 4) for name, s in by_name.items()},
        }
    # OVERALL is kept last, after the artists.
    out[OVERALL] = out.pop(OVERALL)
    return jsonlib.dumps(out, indent=2, ensure_ascii=False)
