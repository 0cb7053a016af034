import datetime as dt

from django.core.management.base import BaseCommand, CommandError

from analytics.rollups import rollups_rebuild


def _day(value: str) -> dt.datetime:
    try:
        return dt.datetime.combine(dt.date.fromisoformat(value), dt.time(), dt.UTC)
    except ValueError as exc:
        raise CommandError(f"{value!r} is not a date (YYYY-MM-DD).") from exc


class Command(BaseCommand):
    help = "Recompute analytics rollups of whole days, e.g. after importing old events."

    def add_arguments(self, parser):
        parser.add_argument("--from", dest="start", required=True, help="first day, YYYY-MM-DD")
        parser.add_argument("--to", dest="end", required=True, help="last day, YYYY-MM-DD")

    def handle(self, *args, start, end, **options):
        first, last = _day(start), _day(end)
        if last < first:
            raise CommandError("--to is before --from.")
        days = rollups_rebuild(start=first, end=last)
        self.stdout.write(f"Rolled up {days} day(s) by minute, hour and day.")
