"""The canonical encoding of an audit event and the hash that chains events.

Changing anything here invalidates every stored hash, so the format is versioned.
"""

import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

FORMAT_VERSION = 1
GENESIS_HASH = "0" * 64
# What an event says, as opposed to where it sits in the chain.
CONTENT_FIELDS = (
    "event_id",
    "occurred_at",
    "actor",
    "action",
    "subject",
    "recipient",
    "purpose",
    "consent_id",
    "payload",
)


def canonical_json(document: Mapping[str, Any]) -> bytes:
    """Sorted keys, no whitespace, UTF-8: equal documents give equal bytes."""
    return json.dumps(
        document, sort_keys=True, separators=(",", ":"), ensure_ascii=False
    ).encode("utf-8")


def format_time(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def canonical_bytes(
    *,
    sequence: int,
    event_id: UUID | str,
    occurred_at: datetime,
    actor: str,
    action: str,
    subject: str,
    recipient: str,
    purpose: str,
    consent_id: UUID | str | None,
    payload: Mapping[str, Any],
    prev_hash: str,
) -> bytes:
    """Sorted keys, no whitespace, UTF-8: the same event always gives the same bytes."""
    document = {
        "v": FORMAT_VERSION,
        "sequence": sequence,
        "event_id": str(event_id),
        "occurred_at": format_time(occurred_at),
        "actor": actor,
        "action": action,
        "subject": subject,
        "recipient": recipient,
        "purpose": purpose,
        "consent_id": str(consent_id) if consent_id else None,
        "payload": payload,
        "prev_hash": prev_hash,
    }
    return canonical_json(document)


def event_hash(**fields: Any) -> str:
    return hashlib.sha256(canonical_bytes(**fields)).hexdigest()


def check_payload(value: Any, path: str = "payload") -> None:
    """Payloads hold only values that survive every database's JSON round trip."""
    if value is None or isinstance(value, bool | int | str):
        return
    if isinstance(value, list | tuple):
        for index, item in enumerate(value):
            check_payload(item, f"{path}[{index}]")
        return
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"{path} has a non-string key {key!r}")
            check_payload(item, f"{path}.{key}")
        return
    raise TypeError(f"{path} holds {type(value).__name__}; use str, int, bool or None")
