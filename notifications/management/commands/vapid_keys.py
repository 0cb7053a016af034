from django.core.management.base import BaseCommand

from notifications.delivery.push import vapid_key_pair


class Command(BaseCommand):
    help = (
        "Print a fresh VAPID key pair for web push, as lines for the environment. Changing "
        "the keys orphans every browser subscribed with the old ones."
    )

    def handle(self, *args, **options):
        public, private = vapid_key_pair()
        self.stdout.write(f"VAPID_PUBLIC_KEY={public}")
        self.stdout.write(f"VAPID_PRIVATE_KEY={private}")
