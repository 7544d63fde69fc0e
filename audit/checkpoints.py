"""Signing the chain's head: the checkpoint service."""

from datetime import datetime

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from audit.chain import GENESIS_HASH, format_time
from audit.integrity import (
    CHECKPOINT_TYP,
    ChainVerification,
    checkpoint_claims,
    walk_chain,
)
from audit.models import Checkpoint
from audit.selectors import chain_documents, chain_head
from audit.signing import sign_jws, signing_keys

# Arbitrary constant naming the advisory lock that serialises checkpointing.
_CHECKPOINT_LOCK_KEY = 0x434D50_43484B50


class ChainBrokenError(Exception):
    """The events since the last checkpoint do not verify: nothing is signed."""

    def __init__(self, result: ChainVerification) -> None:
        super().__init__(
            f"audit chain broken at sequence {result.first_bad_sequence}: "
            f"{result.problem}"
        )
        self.result = result


def _lock() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_CHECKPOINT_LOCK_KEY])


def create_checkpoint(*, now: datetime | None = None) -> Checkpoint | None:
    """Sign the head if the chain grew since the last checkpoint, and only once
    the new events verify from the last signed head; None when nothing is new.

    A chain shorter than the last checkpoint (a cut tail) is refused, so sizes
    never go backwards.
    """
    moment = now or timezone.now()
    with transaction.atomic():
        _lock()
        last = Checkpoint.objects.order_by("-size").first()
        signed_size = last.size if last else 0
        size, head_hash = chain_head()
        if size < signed_size:
            raise ChainBrokenError(
                ChainVerification(
                    ok=False,
                    checked=0,
                    head_sequence=size,
                    head_hash=head_hash,
                    first_bad_sequence=size + 1,
                    problem=f"events {size + 1}-{signed_size} are missing: a "
                    f"checkpoint signed size {signed_size}",
                )
            )
        if size == signed_size:
            return None
        segment = walk_chain(
            chain_documents(after=signed_size, upto=size),
            first_sequence=signed_size + 1,
            prev_hash=last.head_hash if last else GENESIS_HASH,
        )
        if not segment.ok:
            raise ChainBrokenError(segment)
        claims = checkpoint_claims(
            origin=settings.CMP_AUDIT_ORIGIN,
            size=size,
            head_hash=head_hash,
            signed_at=format_time(moment),
        )
        return Checkpoint.objects.create(
            origin=settings.CMP_AUDIT_ORIGIN,
            size=size,
            head_hash=head_hash,
            signed_at=moment,
            key_id=signing_keys()[0].kid,
            jws=sign_jws(claims, typ=CHECKPOINT_TYP),
        )
