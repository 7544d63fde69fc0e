"""Wrap every data key and webhook secret under the current key-encryption key."""

from django.core.management.base import BaseCommand, CommandParser, no_translations

from audit.actors import Actor
from cmp_common.commands.progress import progress
from consents.services.keys import BATCH_SIZE, keys_to_rewrap, rewrap_under_current_key


class Command(BaseCommand):
    help = (
        "After putting a new key first in CMP_DATA_KEYS: wrap every person's data "
        "key and every webhook secret under it, in batches (safe to stop and run "
        "again), so the older keys can be removed."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch-size", type=int, default=BATCH_SIZE)
        parser.add_argument("--quiet", action="store_true", help="no progress bar")

    @no_translations  # operators read one language: messages as written
    def handle(self, *args, batch_size: int, quiet: bool, **options) -> None:
        with progress(keys_to_rewrap(), "rewrapping", unit="key", quiet=quiet) as step:
            done = rewrap_under_current_key(
                actor=Actor("staff", "rewrap_keys"),
                batch_size=batch_size,
                on_batch=step,
            )
        self.stdout.write(
            f"{done.subjects} data keys and {done.webhook_endpoints} webhook secrets "
            f"now wrapped under {done.key_id}; keys under older ones left: "
            f"{keys_to_rewrap()}"
        )
