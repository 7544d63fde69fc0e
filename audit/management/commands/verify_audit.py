import json

from django.core.management.base import BaseCommand, CommandError, no_translations

from audit.models import PendingEvent
from audit.selectors import chain_head, verified_through
from audit.verification import verify_chain
from cmp_common.commands.progress import progress


class Command(BaseCommand):
    help = (
        "Recompute the audit hash chain and check every signed checkpoint; exit "
        "non-zero at the first break."
    )

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="print JSON")
        parser.add_argument(
            "--incremental",
            action="store_true",
            help="only what came after the checkpoint the last successful "
            "verification reached (as the hourly task does)",
        )

    @no_translations  # operators read one language: messages as written
    def handle(self, *args, **options):
        since = verified_through() if options["incremental"] else 0
        total = max(0, chain_head()[0] - since)
        with progress(total, "verifying", quiet=options["json"]) as step:
            result = verify_chain(since=since, on_progress=step)
        if options["json"]:
            self.stdout.write(json.dumps(result.as_dict()))
        if not result.ok:
            where = (
                f"at sequence {result.first_bad_sequence}"
                if result.first_bad_sequence
                else "in its checkpoints"
            )
            raise CommandError(
                f"audit chain broken {where}: {result.problem} "
                f"({result.checked} events verified before it)"
            )
        if not options["json"]:
            staged = PendingEvent.objects.count()
            self.stdout.write(
                self.style.SUCCESS(
                    f"audit chain intact: {result.checked} events, "
                    f"head {result.head_sequence} {result.head_hash}; "
                    f"{result.checkpoints_checked} checkpoints verified, covering "
                    f"events up to {result.covered_sequence}; "
                    f"{staged} staged check events awaiting sealing"
                )
            )
