import json

from django.core.management.base import BaseCommand, CommandError

from audit.actors import Actor
from consents.errors import ConsentError
from consents.services import register_organization


class Command(BaseCommand):
    help = "Register an organization and its OAuth client; prints the credentials once."

    def add_arguments(self, parser):
        parser.add_argument("--code", required=True)
        parser.add_argument("--name", required=True)
        parser.add_argument(
            "--webhook-url",
            help="where the organization receives revocation and expiry notices",
        )

    def handle(self, *args, code: str, name: str, webhook_url: str | None, **options):
        if webhook_url:
            raise CommandError("webhook endpoints are not available in this version")
        try:
            issued = register_organization(
                code=code, name=name, actor=Actor("staff", "create_organization")
            )
        except ConsentError as exc:
            raise CommandError(f"{exc.message}: {exc.fields}") from exc
        self.stdout.write(
            json.dumps(
                {
                    "organization_id": issued.organization.pk,
                    "code": issued.organization.code,
                    "client_id": issued.client_id,
                    "client_secret": issued.client_secret,
                }
            )
        )
