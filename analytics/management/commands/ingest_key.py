from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from analytics.models import IngestKey
from analytics.services import ingest_key_create


class Command(BaseCommand):
    help = "Make an analytics ingest key for an API consumer and print it once."

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument("--public", action="store_true", help="For a tracker in web pages.")
        parser.add_argument(
            "--if-missing", action="store_true", help="Do nothing if a key of that name exists."
        )

    def handle(self, *args, name, public, if_missing, **options):
        if if_missing and IngestKey.objects.filter(name=name).exists():
            self.stdout.write(f"Ingest key {name} exists.")
            return
        try:
            key, secret = ingest_key_create(name=name, is_public=public)
        except ValidationError as error:
            raise CommandError("; ".join(error.messages)) from error
        self.stdout.write(f"Ingest key {key.name}: {secret}  (shown once; keep it safe)")
