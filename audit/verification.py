"""Recomputing the hash chain to prove the audit trail was not altered."""

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from audit.chain import CONTENT_FIELDS, GENESIS_HASH, event_hash
from audit.models import AuditEvent

_FIELDS = ("sequence", *CONTENT_FIELDS, "prev_hash", "hash")


@dataclass(frozen=True)
class ChainVerification:
    ok: bool
    checked: int
    head_sequence: int
    head_hash: str
    first_bad_sequence: int | None = None
    problem: str = ""


def _events(batch_size: int) -> Iterator[dict[str, Any]]:
    """All events in sequence order, a batch at a time (keyset, constant memory)."""
    after = 0
    while True:
        rows = list(
            AuditEvent.objects.filter(sequence__gt=after)
            .order_by("sequence")
            .values_list(*_FIELDS)[:batch_size]
        )
        if not rows:
            return
        for row in rows:
            yield dict(zip(_FIELDS, row, strict=True))
        after = rows[-1][0]


def _problem(fields: dict[str, Any], expected: int, prev_hash: str) -> str:
    if fields["sequence"] != expected:
        return f"event {expected} is missing (next is {fields['sequence']})"
    if fields["prev_hash"] != prev_hash:
        return "prev_hash does not match the previous event's hash"
    stored = fields.pop("hash")
    if event_hash(**fields) != stored:
        return "content does not match its hash"
    return ""


def verify_chain(*, batch_size: int = 5000) -> ChainVerification:
    """Walk the log in order; name the first event that breaks the chain.

    A deleted event shows as a gap, an inserted or reordered one as a wrong
    sequence or a `prev_hash` that does not match, a modified one as a hash that
    does not match its content.
    """
    expected, prev_hash = 1, GENESIS_HASH
    for fields in _events(batch_size):
        stored_hash = fields["hash"]
        problem = _problem(fields, expected, prev_hash)
        if problem:
            bad = min(expected, fields["sequence"])
            return ChainVerification(
                False, expected - 1, expected - 1, prev_hash, bad, problem
            )
        expected, prev_hash = expected + 1, stored_hash
    return ChainVerification(True, expected - 1, expected - 1, prev_hash)
