"""Reads of the audit trail that other apps need."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from audit.models import AuditEvent, PendingEvent

_FIELDS = ("event_id", "occurred_at", "action", "actor", "recipient", "consent_id")


@dataclass(frozen=True)
class RecordedEvent:
    event_id: UUID
    occurred_at: datetime
    action: str
    actor: str
    recipient: str
    consent_id: UUID | None
    payload: dict[str, Any]


def find_event(event_id: UUID, *, action: str) -> RecordedEvent | None:
    """An event by id, sealed or still waiting to be sealed.

    The staging table is read first: the sealer moves a row in one transaction,
    so a row missed there has already committed to the chain.
    """
    for model in (PendingEvent, AuditEvent):
        row = (
            model.objects.filter(event_id=event_id, action=action)
            .values(*_FIELDS, "payload")
            .first()
        )
        if row is not None:
            return RecordedEvent(**row)
    return None
