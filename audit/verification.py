"""Recomputing the hash chain and its signed checkpoints from the database."""

from collections.abc import Iterable, Iterator
from typing import Any

from django.conf import settings
from django.db.models import Max

from audit.integrity import (
    ChainVerification,
    CheckpointError,
    CheckpointStatement,
    read_checkpoint,
    walk_chain,
)
from audit.models import Checkpoint
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


def verify_chain(*, batch_size: int = 5000) -> ChainVerification:
    """Walk the whole log in order against every checkpoint; name the first bad
    sequence number (see `audit.integrity.walk_chain` for what is detected).

    The checkpoints are fixed before the head: every one of them was signed over
    events already committed, so one beyond the head is a cut tail, never a race.
    One pass: each checkpoint arrives with the event it signed.
    """
    last_checkpoint = Checkpoint.objects.aggregate(n=Max("id"))["n"] or 0
    head = chain_head()[0]
    try:
        beyond = _beyond(head, last_checkpoint)
    except CheckpointError as exc:
        return ChainVerification(False, 0, 0, "", None, f"checkpoint: {exc}")
    documents = chain_documents(upto=head, with_checkpoints=True, batch_size=batch_size)
    return walk_chain(_signed(documents, last_checkpoint), checkpoints=beyond)
