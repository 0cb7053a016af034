from django.core.management.base import BaseCommand

from monitoring.dashboards.defaults import DASHBOARDS, dashboards_install
from monitoring.dashboards.models import Dashboard, Widget


class Command(BaseCommand):
    help = "Create the default dashboards that are missing (--reset: recreate all of them)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--reset", action="store_true", help="Recreate the defaults, dropping their edits."
        )

    def handle(self, *args, reset: bool = False, **options):
        created = dashboards_install(Dashboard, Widget, reset=reset)
        self.stdout.write(f"{created} of {len(DASHBOARDS)} default dashboards created.")
