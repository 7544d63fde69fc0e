"""Give an organization's OAuth client a new secret; prints it once."""

import json

from django.core.management.base import (
    BaseCommand,
    CommandError,
    CommandParser,
    no_translations,
)

from audit.actors import Actor
from consents.errors import ConsentError
from consents.services.organizations import rotate_client_secret


class Command(BaseCommand):
    help = (
        "Replace an organization's client secret (the old one and its tokens stop "
        "working at once); prints client_id and the new client_secret once."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--code", required=True, help="the organization's code")

    @no_translations  # operators read one language: messages as written
    def handle(self, *args, code: str, **options) -> None:
        try:
            issued = rotate_client_secret(
                code=code, actor=Actor("staff", "rotate_client_secret")
            )
        except ConsentError as exc:
            raise CommandError(exc.sentence()) from exc
        self.stdout.write(
            json.dumps(
                {"client_id": issued.client_id, "client_secret": issued.client_secret}
            )
        )
