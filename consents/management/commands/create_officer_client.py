import json

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, no_translations

from audit.actors import Actor
from consents.errors import ValidationError
from consents.services import register_officer_client


class Command(BaseCommand):
    help = (
        "Issue OAuth client credentials that act for a staff member on the audit "
        "API (scope audit:read); prints client_id and client_secret as JSON, once."
    )

    def add_arguments(self, parser):
        parser.add_argument("--username", required=True)

    @no_translations  # operators read one language: messages as written
    def handle(self, *args, **options):
        user = get_user_model().objects.filter(username=options["username"]).first()
        if user is None:
            raise CommandError(f"There is no user called {options['username']}.")
        try:
            client = register_officer_client(
                user=user, actor=Actor("staff", "create_officer_client")
            )
        except ValidationError as exc:
            raise CommandError(exc.sentence()) from exc
        self.stdout.write(json.dumps(client.__dict__))
