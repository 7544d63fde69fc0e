"""The canonical encoding of an audit event and the hash that chains events.

Changing anything here invalidates every stored hash, so the format is versioned.
Imports nothing from Django: the offline export verifier uses this module.
"""

import hashlib
import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

try:
    import orjson
except ImportError:  # the offline verifier also runs on the standard library alone
    orjson = None  # type: ignore[assignment]  # checked before each use

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
# A chained event as stored: its place, what it says, and its links.
STORED_FIELDS = ("sequence", *CONTENT_FIELDS, "prev_hash", "hash")


_STDLIB_ENCODER = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False
)


def canonical_json(document: Mapping[str, Any]) -> bytes:
    """Sorted keys, no whitespace, UTF-8: equal documents give equal bytes.

    orjson writes exactly the bytes of the standard library's encoder for the
    values an event may hold (tests/audit/test_chain_encoding.py), about five times
    faster; what it refuses (integers past 64 bits) takes the standard library.
    """
    if orjson is not None:
        try:
            return orjson.dumps(document, option=orjson.OPT_SORT_KEYS)
        except TypeError:
            pass
    return _STDLIB_ENCODER.encode(document).encode("utf-8")


def parse_json(data: bytes | str) -> Any:
    return orjson.loads(data) if orjson is not None else json.loads(data)


def format_time(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def event_document(
    *,
    sequence: int,
    event_id: UUID | str,
    occurred_at: datetime | str,
    actor: str,
    action: str,
    subject: str,
    recipient: str,
    purpose: str,
    consent_id: UUID | str | None,
    payload: Mapping[str, Any],
    prev_hash: str,
) -> dict[str, Any]:
    """What an event's hash covers; ids and the time may come as objects or text.

    Text must already be canonical: the UUID's lowercase form and the time in UTC
    with microseconds, as `format_time` writes it.
    """
    return {
        "v": FORMAT_VERSION,
        "sequence": sequence,
        "event_id": str(event_id),
        "occurred_at": occurred_at
        if isinstance(occurred_at, str)
        else format_time(occurred_at),
        "actor": actor,
        "action": action,
        "subject": subject,
        "recipient": recipient,
        "purpose": purpose,
        "consent_id": str(consent_id) if consent_id else None,
        "payload": payload,
        "prev_hash": prev_hash,
    }


def stored_document(values: Sequence[Any]) -> dict[str, Any]:
    """A stored event given as text in `STORED_FIELDS` order (a row of the
    database's COPY, or of a CSV export), as its hashed document plus `hash`.

    The fast path of verification and export: the same dict `event_document`
    builds, from values that are already canonical text (the sequence an int,
    the payload JSON text, a missing consent id empty or None). Unpacked by
    position, as a literal: twice as fast as zipping names, per event.
    """
    (
        sequence,
        event_id,
        occurred_at,
        actor,
        action,
        subject,
        recipient,
        purpose,
        consent_id,
        payload,
        prev_hash,
        stored_hash,
    ) = values
    return {
        "sequence": sequence,
        "event_id": event_id,
        "occurred_at": occurred_at,
        "actor": actor,
        "action": action,
        "subject": subject,
        "recipient": recipient,
        "purpose": purpose,
        "consent_id": consent_id or None,
        "payload": parse_json(payload),
        "prev_hash": prev_hash,
        "hash": stored_hash,
        "v": FORMAT_VERSION,
    }


def canonical_bytes(**fields: Any) -> bytes:
    """The same event always gives the same bytes."""
    return canonical_json(event_document(**fields))


def document_hash(document: Mapping[str, Any]) -> str:
    return hashlib.sha256(canonical_json(document)).hexdigest()


def event_hash(**fields: Any) -> str:
    return document_hash(event_document(**fields))


def check_payload(value: Any, path: str = "payload") -> None:
    """Payloads hold only values that survive every database's JSON round trip."""
    problem = _payload_problem(value)
    if problem is not None:
        where, message = problem
        raise TypeError(f"{path}{where} {message}")


def _payload_problem(value: Any) -> tuple[str, str] | None:
    """Where in `value` (a path suffix) the first unfit value is, and what it is.

    Paths are built only for a problem: checks run on every audited call."""
    if value is None or isinstance(value, bool | int | str):
        return None
    if isinstance(value, list | tuple):
        for index, item in enumerate(value):
            problem = _payload_problem(item)
            if problem is not None:
                return f"[{index}]{problem[0]}", problem[1]
        return None
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                return "", f"has a non-string key {key!r}"
            problem = _payload_problem(item)
            if problem is not None:
                return f".{key}{problem[0]}", problem[1]
        return None
    return "", f"holds {type(value).__name__}; use str, int, bool or None"
