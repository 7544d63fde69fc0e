"""The transactional outbox: notices are written with the change they announce.

`queue_consent_notices` and `queue_request_notices` run inside the service's
transaction, so a revocation and its deliveries commit together or not at all;
nothing is sent from here. After the commit a nudge asks the relay to hand the
new rows to workers at once; if the broker is down, the relay's next periodic run
finds them in the database instead.
"""

import json
import logging
import os
import threading
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from consents.models import (
    Consent,
    ConsentRequest,
    SubjectReference,
    Transfer,
)
from consents.webhooks.models import Delivery, WebhookEndpoint
from consents.webhooks.relay import RELAY_TASK, send_task

logger = logging.getLogger(__name__)


def _parties(consent: Consent, *, with_transfers: bool) -> dict[int, str]:
    """Organization id → its role: the recipient, named holders, transfer parties."""
    roles = {consent.recipient_id: "recipient"}
    for org_id in consent.holders.values_list("pk", flat=True):
        roles.setdefault(org_id, "holder")
    if with_transfers:
        parties = Transfer.objects.filter(consent=consent).values_list(
            "reported_by_id", "holder_id", "recipient_id"
        )
        for row in parties.distinct():
            for org_id in row:
                if org_id is not None:
                    roles.setdefault(org_id, "transfer_party")
    return roles


def _references(subject_id: Any, org_ids: Iterable[int]) -> dict[int, str]:
    """Each organization's own reference for the person (never another's)."""
    rows = SubjectReference.objects.filter(
        subject_id=subject_id, organization_id__in=list(org_ids)
    ).values_list("organization_id", "reference")
    return dict(rows)


def _body(event_type: str, occurred_at: datetime, data: dict[str, Any]) -> str:
    return json.dumps(
        {"type": event_type, "timestamp": occurred_at.isoformat(), "data": data},
        separators=(",", ":"),
        sort_keys=True,
    )


def _subscribed(event_type: str, org_ids: Iterable[int]) -> list[WebhookEndpoint]:
    """The active endpoints of these organizations that want `event_type`.

    Asked first, so a change that nobody listens to builds no notice at all.
    """
    if not connection.in_atomic_block:
        raise RuntimeError("notices are queued inside the change's transaction")
    # An organization has a handful of endpoints: filter their types here rather
    # than with a JSON containment query that not every database has.
    return [
        endpoint
        for endpoint in WebhookEndpoint.objects.select_related("organization").filter(
            organization_id__in=list(org_ids), status=WebhookEndpoint.Status.ACTIVE
        )
        if event_type in endpoint.event_types
    ]


def _write(
    event_type: str,
    endpoints: list[WebhookEndpoint],
    bodies: dict[int, str],
    *,
    now: datetime,
    consent: Consent | None = None,
    consent_request: ConsentRequest | None = None,
) -> list[Delivery]:
    deliveries = Delivery.objects.bulk_create(
        Delivery(
            endpoint=endpoint,
            organization_id=endpoint.organization_id,
            event_type=event_type,
            consent=consent,
            consent_request=consent_request,
            body=bodies[endpoint.organization_id],
            created_at=now,
            next_attempt_at=now,
        )
        for endpoint in endpoints
    )
    if deliveries:
        transaction.on_commit(nudge_relay)
    return deliveries


def queue_consent_notices(
    consent: Consent, *, event_type: str, now: datetime | None = None
) -> list[Delivery]:
    """Notices of a consent's grant or change of state to every party of it.

    A replaced consent's notice names its successor (`superseded_by`).
    """
    now = now or timezone.now()
    roles = _parties(consent, with_transfers=event_type != "consent.granted")
    endpoints = _subscribed(event_type, roles)
    if not endpoints:
        return []
    codes = {e.organization_id: e.organization.code for e in endpoints}
    references = _references(consent.subject_id, codes)
    common = {
        "consent_id": str(consent.id),
        "status": consent.status,
        "purpose": consent.purpose.code,
        "scopes": list(consent.scope_codes),
        "recipient": consent.recipient.code,
        "holders": list(consent.holder_codes),
        "starts_at": consent.starts_at.isoformat(),
        "expires_at": consent.expires_at.isoformat(),
        "changed_at": consent.status_changed_at.isoformat(),
        "reason": consent.status_reason,
    }
    if consent.superseded_by_id is not None:
        common["superseded_by"] = str(consent.superseded_by_id)
    bodies = {
        org_id: _body(
            event_type,
            now,
            {
                **common,
                "organization": code,
                "role": roles[org_id],
                "subject_ref": references.get(org_id),
            },
        )
        for org_id, code in codes.items()
    }
    return _write(event_type, endpoints, bodies, now=now, consent=consent)


def queue_request_notices(
    consent_request: ConsentRequest, *, event_type: str, now: datetime | None = None
) -> list[Delivery]:
    """The person's answer to a consent request, to the recipient who asked."""
    endpoints = _subscribed(event_type, [consent_request.recipient_id])
    if not endpoints:
        return []
    now = now or timezone.now()
    consent = consent_request.consent
    data = {
        "consent_request_id": str(consent_request.id),
        "status": consent_request.status,
        "subject_ref": consent_request.subject_reference,
        "state": consent_request.state,
        "consent_id": str(consent.id) if consent else None,
        "scopes": list(consent.scope_codes) if consent else [],
        "decided_at": consent_request.decided_at.isoformat()
        if consent_request.decided_at
        else None,
    }
    bodies = {consent_request.recipient_id: _body(event_type, now, data)}
    return _write(
        event_type,
        endpoints,
        bodies,
        now=now,
        consent=consent,
        consent_request=consent_request,
    )


class _Nudger:
    """Sends relay wake-ups from a thread of its own, so no caller waits on them.

    A publish to a broker that is down can block for seconds while the client
    gives up; the revocation that asked for it has long answered by then.
    Wake-ups coalesce: one relay run takes every due row.
    """

    def __init__(self) -> None:
        self._wake = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._pid = 0

    def __call__(self) -> None:
        self._wake.set()
        with self._lock:
            # A forked process (a gunicorn or Celery child) has no thread yet.
            if self._thread is None or self._pid != os.getpid():
                self._pid = os.getpid()
                self._thread = threading.Thread(
                    target=self._run, name="cmp-relay-nudger", daemon=True
                )
                self._thread.start()

    def _run(self) -> None:
        while True:
            self._wake.wait()
            self._wake.clear()
            try:
                send_task(RELAY_TASK)
            except Exception:  # the broker is down: the periodic relay finds the rows
                logger.warning("could not nudge the webhook relay", exc_info=True)


nudge_relay = _Nudger()
nudge_relay.__doc__ = "Ask a worker to relay new deliveries now; never blocks."
