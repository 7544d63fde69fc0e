"""The transactional outbox: notices are written with the change they announce.

`queue_consent_notices` and `queue_request_notices` run inside the service's
transaction, so a revocation and its deliveries commit together or not at all;
nothing is sent from here. After the commit a nudge asks the relay to hand the
new rows to workers at once; if the broker is down, the relay's next periodic run
finds them in the database instead.
"""

import logging
import os
import threading
import uuid
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any

import orjson
from django.db import connection, transaction
from django.utils import timezone

from cmp_common.db.cursors import insert_rows
from consents.models import (
    Consent,
    ConsentHolder,
    ConsentRequest,
    SubjectReference,
    Transfer,
)
from consents.webhooks.models import Delivery, WebhookEndpoint
from consents.webhooks.relay import RELAY_TASK, send_task

logger = logging.getLogger(__name__)


def _parties(
    consents: Sequence[Consent], *, with_transfers: bool
) -> dict[Any, dict[int, str]]:
    """Per consent, organization id → its role: the recipient, named holders,
    transfer parties. A few queries for the whole batch."""
    roles: dict[Any, dict[int, str]] = {
        c.pk: {c.recipient_id: "recipient"} for c in consents
    }
    ids = list(roles)
    holders = ConsentHolder.objects.filter(consent_id__any=ids).values_list(
        "consent_id", "organization_id"
    )
    for consent_id, org_id in holders:
        roles[consent_id].setdefault(org_id, "holder")
    if with_transfers:
        parties = Transfer.objects.filter(consent_id__any=ids).values_list(
            "consent_id", "reported_by_id", "holder_id", "recipient_id"
        )
        for consent_id, *org_ids in parties.distinct():
            for org_id in org_ids:
                if org_id is not None:
                    roles[consent_id].setdefault(org_id, "transfer_party")
    return roles


def _references(
    subject_ids: Iterable[Any], org_ids: Iterable[int]
) -> dict[tuple[Any, int], str]:
    """Each organization's own reference for each person (never another's)."""
    rows = SubjectReference.objects.filter(
        subject_id__any=list(set(subject_ids)), organization_id__in=list(set(org_ids))
    ).values_list("subject_id", "organization_id", "reference")
    return {(subject_id, org_id): ref for subject_id, org_id, ref in rows}


def _body(event_type: str, occurred_at: datetime, data: dict[str, Any]) -> str:
    """Compact JSON with sorted keys, UTF-8 as is (orjson: a mass change writes
    tens of thousands, and the standard encoder is several times slower)."""
    document = {"type": event_type, "timestamp": occurred_at.isoformat(), "data": data}
    return orjson.dumps(document, option=orjson.OPT_SORT_KEYS).decode()


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
    notices: Iterable[tuple[WebhookEndpoint, str, Consent | None]],
    *,
    now: datetime,
    consent_request: ConsentRequest | None = None,
) -> int:
    """One delivery per (endpoint, body, consent), how many; the relay is nudged
    at commit."""
    rows = [
        {
            "id": uuid.uuid4(),
            "endpoint_id": endpoint.pk,
            "organization_id": endpoint.organization_id,
            "event_type": event_type,
            "consent_id": consent.pk if consent else None,
            "consent_request_id": consent_request.pk if consent_request else None,
            "body": body,
            "created_at": now,
            "next_attempt_at": now,
        }
        for endpoint, body, consent in notices
    ]
    insert_rows(Delivery, rows)
    if rows:
        transaction.on_commit(nudge_relay)
    return len(rows)


def queue_consent_notices(
    consent: Consent, *, event_type: str, now: datetime | None = None
) -> int:
    """Notices of a consent's grant or change of state to every party of it."""
    return queue_notices_of_consents([consent], event_type=event_type, now=now)


def queue_notices_of_consents(
    consents: Sequence[Consent], *, event_type: str, now: datetime | None = None
) -> int:
    """Notices of the same change to many consents (one batch of a mass change),
    each to every party of its consent, with a few queries for them all.

    A replaced consent's notice names its successor (`superseded_by`). The
    consents come with `recipient` and `purpose` loaded.
    """
    if not consents:
        return 0
    now = now or timezone.now()
    roles = _parties(consents, with_transfers=event_type != "consent.granted")
    endpoints: dict[int, list[WebhookEndpoint]] = {}
    for endpoint in _subscribed(
        event_type, {org_id for parties in roles.values() for org_id in parties}
    ):
        endpoints.setdefault(endpoint.organization_id, []).append(endpoint)
    if not endpoints:
        return 0
    references = _references((c.subject_id for c in consents), endpoints)
    return _write(
        event_type,
        (
            (endpoint, body, consent)
            for consent in consents
            for org_id, body in _consent_bodies(
                consent, event_type, now, roles[consent.pk], endpoints, references
            )
            for endpoint in endpoints[org_id]
        ),
        now=now,
    )


def _consent_bodies(
    consent: Consent,
    event_type: str,
    now: datetime,
    roles: dict[int, str],
    endpoints: dict[int, list[WebhookEndpoint]],
    references: dict[tuple[Any, int], str],
) -> Iterator[tuple[int, str]]:
    """(organization id, body) for each party of `consent` that listens."""
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
    for org_id, role in roles.items():
        if org_id not in endpoints:
            continue
        data = {
            **common,
            "organization": endpoints[org_id][0].organization.code,
            "role": role,
            "subject_ref": references.get((consent.subject_id, org_id)),
        }
        yield org_id, _body(event_type, now, data)


def queue_request_notices(
    consent_request: ConsentRequest, *, event_type: str, now: datetime | None = None
) -> int:
    """The person's answer to a consent request, to the recipient who asked."""
    endpoints = _subscribed(event_type, [consent_request.recipient_id])
    if not endpoints:
        return 0
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
    body = _body(event_type, now, data)
    return _write(
        event_type,
        ((endpoint, body, consent) for endpoint in endpoints),
        now=now,
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
