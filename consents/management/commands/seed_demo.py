import json

from django.core.management import call_command
from django.core.management.base import BaseCommand, no_translations

from consents.demo import seed_demo


class Command(BaseCommand):
    help = "Create demo people, organizations and consents (idempotent)."

    @no_translations  # operators read one language: messages as written
    def handle(self, *args, **options):
        call_command("load_catalog", stdout=self.stderr)
        result = seed_demo()
        self.stdout.write(
            json.dumps(
                {
                    "logins": result.logins,
                    "officer_otp": result.officer_otp,
                    "clients": result.clients,
                    "consents_created": result.consents_created,
                },
                ensure_ascii=False,
                indent=2,
            )
        )
