from django.core.management.base import BaseCommand, CommandError

from analytics.services import ingest_key_create


class Command(BaseCommand):
    help = "Make an analytics ingest key for an API consumer and print it once."

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument("--public", action="store_true", help="For a tracker in web pages.")

    def handle(self, *args, name, public, **options):
        from django.core.exceptions import ValidationError

        try:
            key, secret = ingest_key_create(name=name, is_public=public)
        except ValidationError as error:
            raise CommandError("; ".join(error.messages)) from error
        self.stdout.write(f"Ingest key {key.name}: {secret}  (shown once; keep it safe)")
