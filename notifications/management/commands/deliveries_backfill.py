import datetime as dt

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from notifications.metrics.rollups import DAY, MOST_A_PASS, ROLLUP_RETENTION, floor, rollup_range


class Command(BaseCommand):
    help = (
        "Roll up the deliveries of past days (an installation older than its rollups, or a "
        "range to rebuild): whole UTC days, in steps, each its own transaction; safe to run "
        "again or beside the minute job."
    )

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=30, help="Days back from today (30).")
        parser.add_argument("--since", type=dt.date.fromisoformat, help="First day, YYYY-MM-DD.")

    def handle(self, *args, days: int, since: dt.date | None, **options):
        now = timezone.now()
        end = floor(now, DAY) + DAY
        if since is not None:
            start = dt.datetime.combine(since, dt.time(), tzinfo=dt.UTC)
        else:
            if days < 1:
                raise CommandError("--days is at least 1.")
            start = end - dt.timedelta(days=days)
        if start >= end:
            raise CommandError("--since is in the future.")
        if end - start > ROLLUP_RETENTION:
            raise CommandError(
                f"Rollups are kept {ROLLUP_RETENTION.days} days: backfill at most that far."
            )
        steps = -(-(end - start) // MOST_A_PASS)
        read = 0
        for n in range(steps):
            step_start = start + n * MOST_A_PASS
            read += rollup_range(start=step_start, end=min(step_start + MOST_A_PASS, end))
            self.stdout.write(f"\r{n + 1}/{steps} steps, {read} deliveries", ending="")
            self.stdout.flush()
        self.stdout.write(f"\nRolled up {start:%Y-%m-%d} to {end:%Y-%m-%d}: {read} deliveries.")
