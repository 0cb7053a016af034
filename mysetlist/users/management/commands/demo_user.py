from django.core.management.base import BaseCommand

from mysetlist.users.services import demo_staff_user_ensure


class Command(BaseCommand):
    help = "Create or reset the demo staff user and print its credentials (local runs only)."

    def add_arguments(self, parser):
        parser.add_argument("--username", default="demo")

    def handle(self, *args, username, **options):
        user, password = demo_staff_user_ensure(username=username)
        self.stdout.write(f"Demo staff user: {user.username} / password: {password}")
