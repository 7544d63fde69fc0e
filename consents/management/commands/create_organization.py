import json

from django.core.management.base import BaseCommand, CommandError, no_translations
from django.db import transaction

from audit.actors import Actor
from consents.errors import ConsentError
from consents.services import register_organization
from consents.services.endpoints import register_webhook_endpoint


class Command(BaseCommand):
    help = (
        "Register an organization, its OAuth client and optionally a webhook "
        "endpoint for every event type; prints the secrets once."
    )

    def add_arguments(self, parser):
        parser.add_argument("--code", required=True)
        parser.add_argument("--name", required=True)
        parser.add_argument(
            "--webhook-url",
            help="where the organization receives revocation and expiry notices",
        )

    @no_translations  # operators read one language: messages as written
    def handle(self, *args, code: str, name: str, webhook_url: str | None, **options):
        actor = Actor("staff", "create_organization")
        try:
            with transaction.atomic():
                issued = register_organization(code=code, name=name, actor=actor)
                output = {
                    "organization_id": issued.organization.pk,
                    "code": issued.organization.code,
                    "client_id": issued.client_id,
                    "client_secret": issued.client_secret,
                }
                if webhook_url:
                    endpoint, secret = register_webhook_endpoint(
                        organization=issued.organization, url=webhook_url, actor=actor
                    )
                    output["webhook_endpoint_id"] = str(endpoint.id)
                    output["webhook_secret"] = secret
        except ConsentError as exc:
            raise CommandError(exc.sentence()) from exc
        self.stdout.write(json.dumps(output))
