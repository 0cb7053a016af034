from django.core.management.base import BaseCommand
from django.utils import timezone

from analytics.lifecycle.retention import retention_apply


class Command(BaseCommand):
    help = "Apply the analytics retention policies; --dry-run shows what would go."

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true")

    def handle(self, *args, dry_run, **options):
        verb = "would delete" if dry_run else "deleted"
        for result in retention_apply(now=timezone.now(), dry_run=dry_run):
            parts = f", partitions {', '.join(result.partitions)}" if result.partitions else ""
            self.stdout.write(
                f"{result.table} (keep {result.keep_days} days, before {result.cutoff:%Y-%m-%d}): "
                f"{verb} {result.rows} rows{parts}"
            )
