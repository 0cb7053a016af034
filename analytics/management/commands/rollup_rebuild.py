import datetime as dt

from django.core.management.base import BaseCommand, CommandError
from django.db.models import Max, Min
from django.utils import timezone

from analytics.models import Event
from analytics.rollups.buckets import GRANULARITIES
from analytics.rollups.passes import rollup_tables_vacuum, rollups_rebuild


def _day(value: str) -> dt.datetime:
    try:
        return dt.datetime.combine(dt.date.fromisoformat(value), dt.time(), dt.UTC)
    except ValueError as exc:
        raise CommandError(f"{value!r} is not a date (YYYY-MM-DD).") from exc


class Command(BaseCommand):
    help = (
        "Recompute analytics rollups and person tables of whole days, a day per transaction: "
        "after importing old events, or with --all after an upgrade adds a rollup table."
    )

    def add_arguments(self, parser):
        parser.add_argument("--from", dest="start", help="first day, YYYY-MM-DD")
        parser.add_argument("--to", dest="end", help="last day, YYYY-MM-DD")
        parser.add_argument(
            "--all", action="store_true", help="every day from the first stored event to today"
        )
        parser.add_argument(
            "--granularity",
            action="append",
            choices=GRANULARITIES,
            help="only these (repeatable); the person tables come with 'day'",
        )

    def handle(self, *args, start, end, all, granularity, **options):
        if all == bool(start or end):
            raise CommandError("Give either --all, or --from and --to.")
        if all:
            span = Event.objects.aggregate(first=Min("timestamp"), last=Max("timestamp"))
            if span["first"] is None:
                self.stdout.write("No events stored: nothing to roll up.")
                return
            first = span["first"]
            last = max(span["last"], timezone.now())
        else:
            if not (start and end):
                raise CommandError("Give both --from and --to.")
            first, last = _day(start), _day(end)
            if last < first:
                raise CommandError("--to is before --from.")
        granularities = tuple(g for g in GRANULARITIES if g in (granularity or GRANULARITIES))

        def progress(day: dt.date) -> None:
            if options["verbosity"] > 1:
                self.stdout.write(f"  {day}")

        days = rollups_rebuild(
            start=first, end=last, granularities=granularities, progress=progress
        )
        self.stdout.write(f"Rolled up {days} day(s) by {', '.join(granularities)}.")
        if tables := rollup_tables_vacuum(granularities):
            self.stdout.write(f"Vacuumed and analysed {', '.join(tables)}.")
