from django.core.management.base import BaseCommand, CommandError, no_translations

from audit.checkpoints import ChainBrokenError, create_checkpoint
from audit.services import seal_pending_events


class Command(BaseCommand):
    help = "Seal staged events and sign a checkpoint of the chain's head now."

    @no_translations  # operators read one language: messages as written
    def handle(self, *args, **options):
        seal_pending_events()
        try:
            checkpoint = create_checkpoint()
        except ChainBrokenError as exc:
            raise CommandError(f"{exc}; no checkpoint signed") from exc
        if checkpoint is None:
            self.stdout.write("no new events since the last checkpoint")
        else:
            self.stdout.write(
                f"checkpoint signed: size {checkpoint.size}, head "
                f"{checkpoint.head_hash}, key {checkpoint.key_id}"
            )
