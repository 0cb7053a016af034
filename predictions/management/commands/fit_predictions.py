from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from mysetlist.core.exceptions import ApplicationError
from predictions import selectors, services
from predictions.backtest import by_artist
from predictions.history import HistoryError, shows_read


class Command(BaseCommand):
    help = (
        "Fit the setlist model on imported setlists (or on --input FILE.jsonl), store it with "
        "its training window and its evaluation (a backtest of the same recipe fitted before "
        "each artist's last --last shows), and make it the active model."
    )

    def add_arguments(self, parser):
        parser.add_argument("--input", type=Path, help="Learn from this file instead.")
        parser.add_argument("--last", type=int, default=200, help="Shows evaluated per artist.")
        parser.add_argument(
            "--no-activate", action="store_true", help="Store the model without using it."
        )
        parser.add_argument(
            "--if-missing", action="store_true", help="Do nothing if a model is active."
        )
        parser.add_argument("--no-progress", action="store_true", help="Hide the progress bar.")

    def handle(self, *args, input, last, no_activate, if_missing, no_progress, **options):
        if if_missing and selectors.model_active_get() is not None:
            self.stdout.write("A model is active already; nothing to do.")
            return
        if last < 1:
            raise CommandError("--last must be at least 1.")
        try:
            histories = by_artist(shows_read(input)) if input else services.imported_histories()
        except HistoryError as error:
            raise CommandError(str(error)) from error
        bar = tqdm(desc="backtest", unit=" shows", disable=no_progress, file=self.stderr._out)
        with bar:
            try:
                version = services.model_fit(
                    histories=histories, last=last, activate=not no_activate, progress=bar.update
                )
            except ApplicationError as error:
                raise CommandError(error.message) from error
        overall = version.evaluation["summaries"].get("overall", {})
        model, best = overall.get("model", {}), _best_baseline(overall)
        self.stdout.write(
            f"Model v{version.pk} fitted on {version.rows} rows in {version.fit_seconds:.1f} s"
            f"{' and made active' if version.is_active else ''}."
        )
        if model:
            self.stdout.write(
                f"Backtest, last {last} shows per artist: R-precision {model['r_precision']:.3f} "
                f"(best baseline {best[0]} {best[1]:.3f}), recall@25 {model['recall_at_25']:.3f}, "
                f"Brier {model['brier']:.4f}."
            )


def _best_baseline(summaries: dict) -> tuple[str, float]:
    baselines = {k: v["r_precision"] for k, v in summaries.items() if k != "model"}
    if not baselines:
        return ("none", 0.0)
    name = max(baselines, key=baselines.get)
    return name, baselines[name]
