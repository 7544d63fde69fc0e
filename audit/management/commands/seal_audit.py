from django.core.management.base import BaseCommand

from audit.services import seal_pending_events


class Command(BaseCommand):
    help = "Append staged check events to the audit chain now."

    def handle(self, *args, **options):
        self.stdout.write(f"sealed {seal_pending_events()} events")
