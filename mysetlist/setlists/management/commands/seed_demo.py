from django.core.management.base import BaseCommand

from mysetlist.setlists.demo import demo_present, demo_seed


class Command(BaseCommand):
    help = "Fill an empty site with made-up demo artists, shows, setlists, fans and votes."

    def add_arguments(self, parser):
        parser.add_argument(
            "--seed", type=int, default=7, help="Random seed (same seed, same data)."
        )

    def handle(self, *args, seed, **options):
        if demo_present():
            self.stdout.write("Demo data is already there; nothing to do.")
            return
        result = demo_seed(seed=seed)
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo data: {result.artists} artists, {result.shows} shows, "
                f"{result.setlist_entries} setlist entries, {result.fans} fans, "
                f"{result.votes} votes."
            )
        )
