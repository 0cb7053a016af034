from django.core.management.base import BaseCommand

from mysetlist.core.scheduling import schedules_sync


class Command(BaseCommand):
    help = "Write the beat schedule declared in mysetlist/schedules.py to django-celery-beat."

    def add_arguments(self, parser):
        parser.add_argument(
            "--reset",
            action="store_true",
            help="Also overwrite crontabs and the enabled flag that staff changed in admin.",
        )

    def handle(self, *args, reset, **options):
        created, updated, removed = schedules_sync(reset=reset)
        self.stdout.write(f"Schedules: {created} created, {updated} updated, {removed} removed.")
