import datetime as dt

from django.core.management.base import BaseCommand, CommandError

from monitoring.reports import services
from monitoring.reports.models import ReportKind
from mysetlist.core.exceptions import ApplicationError


class Command(BaseCommand):
    help = (
        "Generate a report now (daily, weekly, monthly or notifications) for the period "
        "holding --period-start, or the latest period over, and send it to its subscribers. "
        "A period already reported is left as it is."
    )

    def add_arguments(self, parser):
        parser.add_argument("kind", choices=ReportKind.values)
        parser.add_argument(
            "--period-start",
            type=dt.date.fromisoformat,
            help="a day (YYYY-MM-DD) of the period to report on; default: the latest one over",
        )

    def handle(self, *args, kind, period_start, **options):
        try:
            report, new = services.report_generate(kind=kind, day=period_start)
        except ApplicationError as exc:
            raise CommandError(exc.message) from None
        state = "generated" if new else "already there"
        self.stdout.write(f"{report.title} ({report.pk}): {state}.")
        for line in report.summary:
            self.stdout.write(f"  {line}")
