"""Recomputing the hash chain and its signed checkpoints from the database."""

from collections.abc import Iterator

from django.conf import settings
from django.db.models import Max

from audit.integrity import (
    ChainVerification,
    CheckpointStatement,
    read_checkpoint,
    walk_chain,
)
from audit.models import Checkpoint
from audit.selectors import chain_documents, chain_head
from audit.signing import jwks

__all__ = ["ChainVerification", "checkpoint_statements", "verify_chain"]


def checkpoint_statements(
    *, upto_id: int | None = None, batch_size: int = 1000
) -> Iterator[CheckpointStatement]:
    """Stored checkpoints in signing order, each checked against the published
    keys, this log's origin and the checkpoint signed before it.

    Raises `CheckpointError` at the first one that fails.
    """
    keyset, previous, after = jwks(), None, 0
    stored = Checkpoint.objects.order_by("id").values_list("id", "jws")
    if upto_id is not None:
        stored = stored.filter(id__lte=upto_id)
    while batch := list(stored.filter(id__gt=after)[:batch_size]):
        for _, token in batch:
            previous = read_checkpoint(
                token, keyset, origin=settings.CMP_AUDIT_ORIGIN, previous=previous
            )
            yield previous
        after = batch[-1][0]


def verify_chain(*, batch_size: int = 5000) -> ChainVerification:
    """Walk the whole log in order against every checkpoint; name the first bad
    sequence number (see `audit.integrity.walk_chain` for what is detected).

    The checkpoints are fixed before the head: every one of them was signed over
    events already committed, so one beyond the head is a cut tail, never a race.
    """
    last_checkpoint = Checkpoint.objects.aggregate(n=Max("id"))["n"] or 0
    head = chain_head()[0]
    return walk_chain(
        chain_documents(upto=head, batch_size=batch_size),
        checkpoints=checkpoint_statements(upto_id=last_checkpoint),
    )
