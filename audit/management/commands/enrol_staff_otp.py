"""Give a staff member their second factor; prints it once."""

import json

from django.contrib.auth import get_user_model
from django.core.management.base import (
    BaseCommand,
    CommandError,
    CommandParser,
    no_translations,
)

from audit.actors import Actor
from audit.staff import enrol_staff_otp


class Command(BaseCommand):
    help = (
        "Enrol a staff member's authenticator app (TOTP) and issue recovery codes, "
        "replacing any they had; prints the otpauth URI and the codes once."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--username", required=True)

    @no_translations  # operators read one language: messages as written
    def handle(self, *args, username: str, **options) -> None:
        user = get_user_model().objects.filter(username=username).first()
        if user is None or not user.is_staff:
            raise CommandError(f"There is no staff member called {username}.")
        enrolment = enrol_staff_otp(user, actor=Actor("staff", "enrol_staff_otp"))
        self.stdout.write(
            json.dumps(
                {
                    "username": username,
                    "otpauth_uri": enrolment.otpauth_uri,
                    "recovery_codes": enrolment.recovery_codes,
                }
            )
        )
