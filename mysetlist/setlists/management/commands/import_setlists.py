from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from mysetlist.setlists.importing import ImportFileError, setlists_import_file


class Command(BaseCommand):
    help = "Import shows and setlists from a JSON-lines file, one show per line (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("path", type=Path)
        parser.add_argument("--no-progress", action="store_true", help="Hide the progress bar.")

    def handle(self, *args, path, no_progress, **options):
        bar = tqdm(
            desc="setlist entries", unit=" entries", disable=no_progress, file=self.stderr._out
        )
        try:
            result = setlists_import_file(path=path, progress=bar.update)
        except ImportFileError as error:
            raise CommandError(error.message) from error
        finally:
            bar.close()
        for warning in result.warnings:
            self.stderr.write(self.style.WARNING(warning))
        self.stdout.write(
            self.style.SUCCESS(
                f"Shows: {result.shows_created} new, {result.shows_updated} updated; "
                f"setlists written: {result.setlists_written} ({result.entries_written} entries); "
                f"new artists {result.artists_created}, songs {result.songs_created}, "
                f"venues {result.venues_created}."
            )
        )
