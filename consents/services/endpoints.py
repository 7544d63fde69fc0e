"""Registering and retiring webhook endpoints, and replaying failed deliveries."""

import base64
import secrets
import uuid
from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

from django.db import transaction
from django.utils import timezone

from audit.actors import Actor
from audit.services import record_event
from cmp_common.wire.webhooks import SECRET_PREFIX
from consents import pii
from consents.errors import InvalidTransitionError, NotFoundError, ValidationError
from consents.models import Organization
from consents.selectors import endpoints_of
from consents.webhooks.addresses import check_webhook_url
from consents.webhooks.delivery import disable_endpoint
from consents.webhooks.models import EVENT_TYPES, Delivery, WebhookEndpoint
from consents.webhooks.outbox import nudge_relay


def _event_types(event_types: Sequence[str] | None) -> list[str]:
    chosen = sorted(set(event_types or EVENT_TYPES))
    unknown = [name for name in chosen if name not in EVENT_TYPES]
    if unknown:
        raise ValidationError(
            "unknown event types",
            fields={"event_types": [f"unknown event type {n}" for n in unknown]},
        )
    return chosen


def register_webhook_endpoint(
    *,
    organization: Organization,
    url: str,
    actor: Actor,
    event_types: Sequence[str] | None = None,
    sign_ed25519: bool = False,
    description: str = "",
) -> tuple[WebhookEndpoint, str]:
    """A new endpoint and its signing secret, which is shown only this once."""
    check_webhook_url(url)
    chosen = _event_types(event_types)
    secret = SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()
    endpoint_id = uuid.uuid4()
    wrapped = pii.wrap_secret(endpoint_id, secret)
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.create(
            id=endpoint_id,
            organization=organization,
            url=url,
            description=description,
            event_types=chosen,
            sign_ed25519=sign_ed25519,
            secret_key_id=wrapped.key_id,
            secret_enc=wrapped.wrapped,
            created_at=timezone.now(),
        )
        record_event(
            action="webhook_endpoint.registered",
            actor=actor,
            recipient=organization.code,
            payload={
                "endpoint": str(endpoint.id),
                "url": url,
                "event_types": chosen,
                "sign_ed25519": sign_ed25519,
            },
        )
    return endpoint, secret


def _own_endpoint(organization: Organization, endpoint_id: UUID) -> WebhookEndpoint:
    endpoint = (
        endpoints_of(organization).select_for_update().filter(pk=endpoint_id).first()
    )
    if endpoint is None:
        raise NotFoundError("webhook endpoint not found")
    return endpoint


def disable_webhook_endpoint(
    *,
    organization: Organization,
    endpoint_id: UUID,
    actor: Actor,
    now: datetime | None = None,
) -> WebhookEndpoint:
    """Stop notices to an endpoint; what still waited for it is cancelled."""
    now = now or timezone.now()
    with transaction.atomic():
        endpoint = _own_endpoint(organization, endpoint_id)
        if endpoint.status == WebhookEndpoint.Status.ACTIVE:
            disable_endpoint(endpoint, reason=f"disabled by {actor}", now=now)
            record_event(
                action="webhook_endpoint.disabled",
                actor=actor,
                recipient=organization.code,
                payload={"endpoint": str(endpoint.id)},
            )
        endpoint.refresh_from_db()
    return endpoint


def delete_webhook_endpoint(
    *,
    organization: Organization,
    endpoint_id: UUID,
    actor: Actor,
    now: datetime | None = None,
) -> None:
    """Disable an endpoint and take it out of the organization's reach for good;
    its deliveries stay on record."""
    now = now or timezone.now()
    with transaction.atomic():
        endpoint = _own_endpoint(organization, endpoint_id)
        if endpoint.status == WebhookEndpoint.Status.ACTIVE:
            disable_endpoint(endpoint, reason=f"deleted by {actor}", now=now)
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(deleted_at=now)
        record_event(
            action="webhook_endpoint.deleted",
            actor=actor,
            recipient=organization.code,
            payload={"endpoint": str(endpoint.id)},
        )


def replay_delivery(
    *,
    delivery_id: UUID,
    actor: Actor,
    organization: Organization | None = None,
    now: datetime | None = None,
) -> Delivery:
    """Send a failed delivery again, same webhook-id, with a fresh schedule.

    `organization` limits it to that organization's deliveries (the API); the
    operator's admin passes none.
    """
    now = now or timezone.now()
    with transaction.atomic():
        deliveries = Delivery.objects.select_for_update().select_related("endpoint")
        if organization is not None:
            deliveries = deliveries.filter(organization=organization)
        delivery = deliveries.filter(pk=delivery_id).first()
        if delivery is None:
            raise NotFoundError("delivery not found")
        if delivery.status != Delivery.Status.FAILED:
            raise InvalidTransitionError(
                f"only a failed delivery is replayed; this one is {delivery.status}",
                fields={"status": [delivery.status]},
            )
        if delivery.endpoint.status != WebhookEndpoint.Status.ACTIVE:
            raise InvalidTransitionError(
                "the endpoint is disabled", fields={"endpoint": ["disabled"]}
            )
        delivery.status = Delivery.Status.PENDING
        delivery.attempts = 0
        delivery.dispatches = 0
        delivery.next_attempt_at = now
        delivery.leased_until = None
        delivery.save()
        record_event(
            action="delivery.replayed",
            actor=actor,
            recipient=delivery.endpoint.organization.code,
            consent_id=delivery.consent_id,
            payload={"delivery": str(delivery.id), "event_type": delivery.event_type},
        )
        transaction.on_commit(nudge_relay)
    return delivery
