"""Registering organizations and their OAuth clients, suspending them, and
issuing compliance officers their own clients for the audit API."""

from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from oauth2_provider.generators import generate_client_secret
from oauth2_provider.models import AccessToken, get_application_model

from audit.actors import Actor
from audit.services import record_event
from consents.errors import NotFoundError, ValidationError
from consents.models import MassChange, Organization, OrganizationClient
from consents.services.mass import cancel_mass_changes, start_mass_change


@dataclass(frozen=True)
class IssuedClient:
    """Client credentials; the secret is shown once and stored only as a hash."""

    organization: Organization
    client_id: str
    client_secret: str


@dataclass(frozen=True)
class OfficerClient:
    """Client credentials; the secret is shown once and stored only as a hash."""

    client_id: str
    client_secret: str


def _confidential_client(name: str, **owner: Any) -> tuple[Any, str]:
    """A client-credentials OAuth application and its secret, shown only now."""
    application_model = get_application_model()
    secret = generate_client_secret()
    application = application_model.objects.create(
        name=name,
        client_type=application_model.CLIENT_CONFIDENTIAL,
        authorization_grant_type=application_model.GRANT_CLIENT_CREDENTIALS,
        client_secret=secret,
        **owner,
    )
    return application, secret


def register_organization(*, code: str, name: str, actor: Actor) -> IssuedClient:
    """Create an organization with a confidential client-credentials OAuth client."""
    organization = Organization(code=code.strip().lower(), name=name.strip())
    try:
        organization.full_clean()
    except DjangoValidationError as exc:
        raise ValidationError("invalid organization", fields=exc.message_dict) from exc
    try:
        with transaction.atomic():
            organization.save(force_insert=True)
            application, secret = _confidential_client(
                f"{organization.code} API client"
            )
            OrganizationClient.objects.create(
                organization=organization, application=application
            )
            record_event(
                action="organization.registered",
                actor=actor,
                payload={
                    "organization": organization.code,
                    "client_id": application.client_id,
                },
            )
    except IntegrityError as exc:  # a concurrent registration took the code
        raise ValidationError(
            "invalid organization", fields={"code": ["already registered"]}
        ) from exc
    return IssuedClient(organization, application.client_id, secret)


@dataclass(frozen=True)
class StatusChange:
    """An organization after a change of status, and the job that pauses or
    resumes its consents (None when the status was already so)."""

    organization: Organization
    job: MassChange | None


def set_organization_status(
    *, code: str, status: str, actor: Actor, reason: str = ""
) -> Organization:
    """Suspend or reactivate an organization; a suspended one's checks all deny."""
    return change_organization_status(
        code=code, status=status, actor=actor, reason=reason
    ).organization


def change_organization_status(
    *, code: str, status: str, actor: Actor, reason: str = ""
) -> StatusChange:
    """`set_organization_status`, naming the mass change it started."""
    if status not in Organization.Status.values:
        raise ValidationError("bad status", fields={"status": ["active or suspended"]})
    with transaction.atomic():
        organization = (
            Organization.objects.select_for_update().filter(code=code).first()
        )
        if organization is None:
            raise NotFoundError("organization not found")
        if organization.status == status:
            return StatusChange(organization, None)
        organization.status = status
        organization.save(update_fields=["status"])
        suspended = status == Organization.Status.SUSPENDED
        record_event(
            action="organization.suspended"
            if suspended
            else "organization.reactivated",
            actor=actor,
            payload={"organization": code, "reason": reason[:500]},
        )
        # Its consents pause (every party is told to stop) and resume with it;
        # the organization's own checks deny from this commit on, before then.
        Kind = MassChange.Kind
        undone, kind = (
            (Kind.RESUME_RECIPIENT, Kind.PAUSE_RECIPIENT)
            if suspended
            else (Kind.PAUSE_RECIPIENT, Kind.RESUME_RECIPIENT)
        )
        cancel_mass_changes(organization=organization, kind=undone)
        job = start_mass_change(
            kind, actor=actor, organization=organization, reason=reason
        )
    return StatusChange(organization, job)


def rotate_client_secret(*, code: str, actor: Actor) -> IssuedClient:
    """A new secret for the organization's OAuth client, shown only now; the old
    one stops working at once and every token issued under it is revoked (a
    rotation usually follows a leak)."""
    with transaction.atomic():
        link = (
            OrganizationClient.objects.select_related("organization", "application")
            .select_for_update(of=("self",))
            .filter(organization__code=code)
            .first()
        )
        if link is None:
            raise NotFoundError("organization not found")
        application = link.application
        secret = generate_client_secret()
        application.client_secret = secret  # hashed when saved
        application.save(update_fields=["client_secret"])
        revoked, _ = AccessToken.objects.filter(application=application).delete()
        record_event(
            action="organization.client_secret_rotated",
            actor=actor,
            payload={
                "organization": code,
                "client_id": application.client_id,
                "tokens_revoked": revoked,
            },
        )
    return IssuedClient(link.organization, application.client_id, secret)


def register_officer_client(*, user: AbstractUser, actor: Actor) -> OfficerClient:
    """A client-credentials client owned by a staff member; its tokens act as them
    on the audit API (scope `audit:read`)."""
    if not (user.is_active and user.is_staff):
        raise ValidationError(
            "not a staff member", fields={"username": ["must be active staff"]}
        )
    with transaction.atomic():
        application, secret = _confidential_client(
            f"audit officer {user.get_username()}", user=user
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
