"""Recomputing the hash chain and its signed checkpoints from the database."""

from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from typing import Any

from django.conf import settings
from django.db.models import Max

from audit.chain import GENESIS_HASH
from audit.integrity import (
    ChainVerification,
    CheckpointError,
    CheckpointStatement,
    read_checkpoint,
    walk_chain,
)
from audit.models import AuditEvent, Checkpoint
from audit.selectors import chain_documents, chain_head
from audit.signing import jwks

__all__ = ["ChainVerification", "verify_chain"]


def _signed(
    documents: Iterable[dict[str, Any]], upto_id: int
) -> Iterator[dict[str, Any]]:
    """Documents with the checkpoint stored at their sequence number read as a
    statement: signed by a published key, of this log, and signed after every
    checkpoint of a smaller size (ids grow with signing)."""
    keyset, origin = jwks(), settings.CMP_AUDIT_ORIGIN
    previous: CheckpointStatement | None = None
    previous_id = 0
    for document in documents:
        stored = document.pop("checkpoint", None)
        if stored is not None and stored[0] <= upto_id:
            checkpoint_id, token = stored
            statement = read_checkpoint(token, keyset, origin=origin)
            if checkpoint_id < previous_id:
                raise CheckpointError(
                    f"size {statement.size} goes backwards (signed after a "
                    f"checkpoint of size {previous.size})"  # type: ignore[union-attr]  # ids > 0
                )
            previous, previous_id = statement, checkpoint_id
            document["checkpoint"] = statement
        yield document


def _beyond(head: int, upto_id: int) -> list[CheckpointStatement]:
    """Checkpoints larger than the chain: each one shows a cut tail."""
    keyset, origin = jwks(), settings.CMP_AUDIT_ORIGIN
    tokens = (
        Checkpoint.objects.filter(size__gt=head, id__lte=upto_id)
        .order_by("id")
        .values_list("jws", flat=True)
    )
    return [read_checkpoint(token, keyset, origin=origin) for token in tokens]


def _anchor(size: int) -> str:
    """The hash of event `size`, as a signed checkpoint of this log states it
    and the stored event agrees; CheckpointError otherwise."""
    token = Checkpoint.objects.filter(size=size).values_list("jws", flat=True).first()
    if token is None:
        raise CheckpointError(f"no checkpoint of size {size} to start from")
    statement = read_checkpoint(token, jwks(), origin=settings.CMP_AUDIT_ORIGIN)
    stored = (
        AuditEvent.objects.filter(sequence=size).values_list("hash", flat=True).first()
    )
    if stored != statement.hash:
        raise CheckpointError(
            f"event {size} no longer has the hash its checkpoint signed"
        )
    return statement.hash


def verify_chain(
    *,
    batch_size: int = 5000,
    since: int = 0,
    on_progress: Callable[[int], object] | None = None,
) -> ChainVerification:
    """Walk the log in order against every checkpoint; name the first bad
    sequence number (see `audit.integrity.walk_chain` for what is detected).

    With `since`, the size of a checkpoint up to which an earlier verification
    verified the chain, only what came after it is walked: from that signed
    head, whose event must still hold the hash it signed, to the head now. Its
    cost is what was appended since, not the log's length; the full walk (the
    default) re-reads everything.

    The checkpoints are fixed before the head: every one of them was signed over
    events already committed, so one beyond the head is a cut tail, never a race.
    One pass: each checkpoint arrives with the event it signed.
    """
    last_checkpoint = Checkpoint.objects.aggregate(n=Max("id"))["n"] or 0
    head = chain_head()[0]
    prev_hash = GENESIS_HASH
    try:
        beyond = _beyond(head, last_checkpoint)
        if since:
            prev_hash = _anchor(since)
    except CheckpointError as exc:
        failed = ChainVerification(False, 0, 0, "", None, f"checkpoint: {exc}")
        return replace(failed, since_sequence=since)
    documents = chain_documents(
        after=since, upto=head, with_checkpoints=True, batch_size=batch_size
    )
    if on_progress is not None:
        documents = _reporting(documents, on_progress, every=batch_size)
    result = walk_chain(
        _signed(documents, last_checkpoint),
        first_sequence=since + 1,
        prev_hash=prev_hash,
        checkpoints=beyond,
    )
    return replace(result, since_sequence=since)


def _reporting(
    documents: Iterator[dict[str, Any]], step: Callable[[int], object], *, every: int
) -> Iterator[dict[str, Any]]:
    """The same documents, calling `step(n)` after each `n` of them."""
    count = 0
    for document in documents:
        yield document
        count += 1
        if count == every:
            step(count)
            count = 0
    if count:
        step(count)
