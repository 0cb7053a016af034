import json as jsonlib
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from mysetlist.core.exceptions import ApplicationError
from predictions import services
from predictions.backtest import MODEL, backtest, backtest_unseen_artist, by_artist
from predictions.evaluation import MIN_SONGS, OVERALL, evaluation_targets
from predictions.history import HistoryError, shows_read


class Command(BaseCommand):
    help = (
        "Backtest setlist predictions walk-forward: the model is fitted only on shows before "
        "each artist's last --last shows, and each of those is predicted only from the shows "
        "before it, beside the honest baselines (freq10, freq50, notebook, prev). Reads the "
        "imported setlists, or --input FILE.jsonl (the shared format) without importing it. "
        "The run is stored for the staff page."
    )

    def add_arguments(self, parser):
        parser.add_argument("--input", type=Path, help="Shows to backtest, one JSON object a line.")
        parser.add_argument(
            "--last", type=int, default=200, help="Shows evaluated per artist (default 200)."
        )
        parser.add_argument("--json", action="store_true", help="Print the results as JSON.")
        parser.add_argument("--no-progress", action="store_true", help="Hide the progress bar.")
        parser.add_argument("--no-store", action="store_true", help="Do not store the run.")
        parser.add_argument(
            "--unseen-artist",
            action="store_true",
            help="Predict each artist with a model fitted on the other artists only (leave one "
            "artist out): how the model does on an artist it has never seen.",
        )

    def handle(self, *args, input, last, json, no_progress, no_store, unseen_artist, **options):
        if last < 1:
            raise CommandError("--last must be at least 1.")
        try:
            shows = shows_read(input) if input else None
        except HistoryError as error:
            raise CommandError(str(error)) from error
        histories = by_artist(shows) if shows is not None else services.imported_histories()
        if not histories:
            raise CommandError("No setlists to backtest: import some, or pass --input.")
        total = sum(
            len(evaluation_targets(history, last=last, min_songs=MIN_SONGS))
            for history in histories.values()
        )
        all_shows = [show for history in histories.values() for show in history]
        with tqdm(
            total=total, desc="shows", unit=" shows", disable=no_progress, file=self.stderr._out
        ) as bar:
            try:
                run = backtest_unseen_artist if unseen_artist else backtest
                result = run(all_shows, last=last, progress=bar.update)
            except ValueError as error:
                raise CommandError(f"Cannot backtest: {error}.") from error
        if not no_store:
            try:
                services.backtest_run_create(
                    result=result,
                    source=(str(input) if input else "imported history")
                    + (", each artist unseen" if unseen_artist else ""),
                    last=last,
                )
            except ApplicationError as error:
                raise CommandError(error.message) from error
        if json:
            self.stdout.write(_json_dumps(result.report.summaries))
        else:
            self._write_table(result)

    def _write_table(self, result) -> None:
        self.stdout.write(
            f"{'artist':<24} {'predictor':<9} {'shows':>5} {'R-prec':>7} {'rec@25':>7} "
            f"{'Jaccard':>7} {'Brier':>7}"
        )
        for artist, by_name in result.report.summaries.items():
            for name, s in by_name.items():
                self.stdout.write(
                    f"{artist:<24} {name:<9} {s.shows:>5} {s.r_precision:>7.3f} "
                    f"{s.recall_at_25:>7.3f} {s.jaccard:>7.3f} {s.brier:>7.4f}"
                )
        self.stdout.write(
            f"Fitted in {result.fit_seconds:.1f} s; the whole backtest took {result.seconds:.1f} s."
        )


def _json_dumps(summaries) -> str:
    out = {}
    for artist, by_name in summaries.items():
        model = by_name[MODEL]
        out[artist] = {
            "shows": model.shows,
            "r_precision": round(model.r_precision, 4),
            "recall_at_25": round(model.recall_at_25, 4),
            "brier": round(model.brier, 5),
            "jaccard": round(model.jaccard, 4),
            "baselines": {
                name: round(s.r_precision, 4) for name, s in by_name.items() if name != MODEL
            },
        }
    out[OVERALL] = out.pop(OVERALL)  # kept last, after the artists
    return jsonlib.dumps(out, indent=2, ensure_ascii=False)
