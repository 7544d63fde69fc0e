"""OAuth clients for compliance officers, who use the audit API as themselves."""

from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from oauth2_provider.generators import generate_client_secret
from oauth2_provider.models import get_application_model

from audit.actors import Actor
from audit.services import record_event
from consents.errors import ValidationError


@dataclass(frozen=True)
class OfficerClient:
    """Client credentials; the secret is shown once and stored only as a hash."""

    client_id: str
    client_secret: str


def register_officer_client(*, user: AbstractBaseUser, actor: Actor) -> OfficerClient:
    """A client-credentials client owned by a staff member; its tokens act as them
    on the audit API (scope `audit:read`)."""
    if not (user.is_active and user.is_staff):
        raise ValidationError(
            "not a staff member", fields={"username": ["must be active staff"]}
        )
    application_model = get_application_model()
    secret = generate_client_secret()
    with transaction.atomic():
        application = application_model.objects.create(
            name=f"audit officer {user.get_username()}",
            user=user,
            client_type=application_model.CLIENT_CONFIDENTIAL,
            authorization_grant_type=application_model.GRANT_CLIENT_CREDENTIALS,
            client_secret=secret,
        )
        record_event(
            action="officer_client.registered",
            actor=actor,
            payload={
                "officer": user.get_username(),
                "client_id": application.client_id,
            },
        )
    return OfficerClient(application.client_id, secret)
