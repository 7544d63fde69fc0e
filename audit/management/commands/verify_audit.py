import json

from django.core.management.base import BaseCommand, CommandError

from audit.models import PendingEvent
from audit.verification import verify_chain


class Command(BaseCommand):
    help = "Recompute the audit hash chain; exit non-zero at the first break."

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="print JSON")

    def handle(self, *args, **options):
        result = verify_chain()
        if options["json"]:
            self.stdout.write(json.dumps(result.__dict__))
        if not result.ok:
            raise CommandError(
                f"audit chain broken at sequence {result.first_bad_sequence}: "
                f"{result.problem} ({result.checked} events verified before it)"
            )
        if not options["json"]:
            staged = PendingEvent.objects.count()
            self.stdout.write(
                self.style.SUCCESS(
                    f"audit chain intact: {result.checked} events, "
                    f"head {result.head_sequence} {result.head_hash}; "
                    f"{staged} staged check events awaiting sealing"
                )
            )
