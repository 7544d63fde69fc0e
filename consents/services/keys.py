"""Retiring a key-encryption key: every person's data key and every webhook
secret wrapped under an older key is wrapped again under the current one (the
first of `CMP_DATA_KEYS`), in batches, resumable: what is done no longer matches.
Only the wrapping changes; the data keys, and so every sealed field, stay as
they are."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from django.db import transaction
from django.db.models import QuerySet

from audit.actors import Actor
from audit.services import record_event
from consents import pii
from consents.models import DataSubject, WebhookEndpoint

BATCH_SIZE = 500


@dataclass(frozen=True)
class Rewrapped:
    key_id: str
    subjects: int
    webhook_endpoints: int


def keys_to_rewrap() -> int:
    """How many wrapped keys and secrets are not under the current key."""
    current = pii.current_key_id()
    return (
        DataSubject.objects.filter(wrapped_key__isnull=False)
        .exclude(data_key_id=current)
        .count()
        + WebhookEndpoint.objects.exclude(secret_key_id=current).count()
    )


def rewrap_under_current_key(
    *,
    actor: Actor,
    batch_size: int = BATCH_SIZE,
    on_batch: Callable[[int], object] | None = None,
) -> Rewrapped:
    current = pii.current_key_id()
    subjects = _rewrap_all(
        lambda: DataSubject.objects.filter(wrapped_key__isnull=False).exclude(
            data_key_id=current
        ),
        ("data_key_id", "wrapped_key"),
        pii.rewrap_data_key,
        batch_size,
        on_batch,
    )
    endpoints = _rewrap_all(
        lambda: WebhookEndpoint.objects.exclude(secret_key_id=current),
        ("secret_key_id", "secret_enc"),
        pii.rewrap_secret,
        batch_size,
        on_batch,
    )
    with transaction.atomic():
        record_event(
            action="keys.rewrapped",
            actor=actor,
            payload={
                "key_id": current,
                "subjects": subjects,
                "webhook_endpoints": endpoints,
            },
        )
    return Rewrapped(current, subjects, endpoints)


def _rewrap_all(
    pending: Callable[[], QuerySet[Any]],
    fields: tuple[str, str],
    rewrap: Callable[[UUID, pii.WrappedKey], pii.WrappedKey],
    batch_size: int,
    on_batch: Callable[[int], object] | None,
) -> int:
    """Rewrap the rows `pending()` finds, a batch per transaction, until none is
    left; rows another runner holds are skipped and picked up by it."""
    key_field, blob_field = fields
    done = 0
    while True:
        with transaction.atomic():
            batch = list(
                pending()
                .select_for_update(skip_locked=True)
                .only("id", key_field, blob_field)[:batch_size]
            )
            for row in batch:
                old = pii.WrappedKey(
                    getattr(row, key_field), bytes(getattr(row, blob_field))
                )
                new = rewrap(row.pk, old)
                setattr(row, key_field, new.key_id)
                setattr(row, blob_field, new.wrapped)
                row.save(update_fields=[key_field, blob_field])
        done += len(batch)
        if on_batch is not None and batch:
            on_batch(len(batch))
        if len(batch) < batch_size:
            return done
