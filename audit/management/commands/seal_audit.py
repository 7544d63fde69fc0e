from django.core.management.base import BaseCommand, no_translations

from audit.services import seal_pending_events


class Command(BaseCommand):
    help = "Append staged check events to the audit chain now."

    @no_translations  # operators read one language: messages as written
    def handle(self, *args, **options):
        self.stdout.write(f"sealed {seal_pending_events()} events")
