"""Streamed exports of the audit trail with a signed manifest.

An export is fixed before its first byte: the chain slice it reads, the
checkpoint that covers it, and an `audit.exported` event naming who asked for
what. Rows stream from keyset batches, so memory stays flat however many events
go out; when the last byte is out the manifest (filters, count, first and last
events, the covering checkpoint, the file's SHA-256) is signed and recorded as an
`audit.export_completed` event, from which it can be fetched again.
"""

import hashlib
import logging
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from audit.actors import Actor
from audit.chain import format_time
from audit.checkpoints import ChainBrokenError, create_checkpoint
from audit.export_format import (
    FILTERED,
    MANIFEST_TYP,
    MANIFEST_TYPE,
    MANIFEST_VERSION,
    RANGE,
    encode_rows,
)
from audit.models import AuditEvent, Checkpoint
from audit.selectors import EventFilters, chain_documents, chain_head, sequence_window
from audit.services import record_event, seal_pending_events
from audit.signing import sign_jws

log = logging.getLogger(__name__)

EXPORTED, COMPLETED = "audit.exported", "audit.export_completed"
# Rows per query: a few MiB in flight, whatever the export's size.
EXPORT_BATCH = 2000


@dataclass
class Export:
    """One export in flight; `manifest` is set once every byte has been produced."""

    export_id: UUID
    fmt: str
    filters: EventFilters
    actor: Actor
    started_at: datetime
    after: int
    upto: int
    checkpoint: Checkpoint | None
    manifest: dict[str, Any] | None = field(default=None)

    @property
    def kind(self) -> str:
        return FILTERED if self.filters.fields else RANGE

    @property
    def filename(self) -> str:
        return f"audit-export-{self.export_id}.{self.fmt}"


def _open_ended(filters: EventFilters, now: datetime) -> bool:
    return filters.until is None or filters.until > now


def start_export(*, filters: EventFilters, fmt: str, actor: Actor) -> Export:
    """Fix the slice an export covers and record who asked for it.

    An export that runs up to now first signs a fresh checkpoint, so the whole
    of it is covered by a signed head.
    """
    now = timezone.now()
    head = None
    if _open_ended(filters, now):
        seal_pending_events()  # the latest checks belong in an export up to now
        try:
            checkpoint = create_checkpoint(now=now)
            head = checkpoint.size if checkpoint else None
        except ChainBrokenError as exc:  # the export still goes out, uncovered
            log.error("export %s without a fresh checkpoint: %s", filters, exc)
    after, upto = sequence_window(
        filters.since, filters.until, upto=head or chain_head()[0]
    )
    covering = (
        Checkpoint.objects.filter(size__gt=after, size__lte=upto)
        .order_by("-size")
        .first()
    )
    export = Export(uuid.uuid4(), fmt, filters, actor, now, after, upto, covering)
    with transaction.atomic():
        record_event(
            action=EXPORTED,
            actor=actor,
            payload={
                "export_id": str(export.export_id),
                "format": fmt,
                "kind": export.kind,
                "filters": filters.as_dict(),
                "first_sequence": after + 1,
                "last_sequence": upto,
            },
        )
    return export


@dataclass
class _Tally:
    count: int = 0
    first: dict[str, Any] | None = None
    last: dict[str, Any] | None = None


def _counted(export: Export, tally: _Tally) -> Iterator[dict[str, Any]]:
    documents = chain_documents(
        after=export.after,
        upto=export.upto,
        fields=export.filters.fields,
        batch_size=EXPORT_BATCH,
    )
    for document in documents:
        if tally.first is None:
            tally.first = {
                "sequence": document["sequence"],
                "hash": document["hash"],
                "prev_hash": document["prev_hash"],
            }
        tally.count += 1
        tally.last = document
        yield document


def stream_export(export: Export) -> Iterator[bytes]:
    """The file's bytes; after the last chunk the manifest is signed and recorded."""
    digest, size, tally = hashlib.sha256(), 0, _Tally()
    for chunk in encode_rows(_counted(export, tally), export.fmt):
        digest.update(chunk)
        size += len(chunk)
        if chunk:
            yield chunk
    last = tally.last
    export.manifest = _signed_manifest(
        export,
        tally,
        last={"sequence": last["sequence"], "hash": last["hash"]} if last else None,
        file={"sha256": digest.hexdigest(), "bytes": size},
    )
    with transaction.atomic():
        record_event(
            action=COMPLETED,
            actor=export.actor,
            payload={
                "export_id": str(export.export_id),
                "count": tally.count,
                "sha256": digest.hexdigest(),
                "manifest": export.manifest,
            },
        )


def _signed_manifest(
    export: Export,
    tally: _Tally,
    *,
    last: dict[str, Any] | None,
    file: dict[str, Any],
) -> dict[str, Any]:
    checkpoint = export.checkpoint
    manifest = {
        "type": MANIFEST_TYPE,
        "v": MANIFEST_VERSION,
        "origin": settings.CMP_AUDIT_ORIGIN,
        "export_id": str(export.export_id),
        "exported_by": str(export.actor),
        "exported_at": format_time(export.started_at),
        "format": export.fmt,
        "kind": export.kind,
        "filters": export.filters.as_dict(),
        "range": {"first_sequence": export.after + 1, "last_sequence": export.upto},
        "count": tally.count,
        "first": tally.first,
        "last": last,
        "checkpoints": [
            {
                "size": checkpoint.size,
                "hash": checkpoint.head_hash,
                "jws": checkpoint.jws,
            }
        ]
        if checkpoint
        else [],
        "file": file,
    }
    manifest["signature"] = sign_jws(manifest, typ=MANIFEST_TYP, detached=True)
    return manifest


def export_manifest(export_id: UUID) -> dict[str, Any] | None:
    """The signed manifest of a finished export, from its audit event."""
    payload = (
        AuditEvent.objects.filter(action=COMPLETED, payload__export_id=str(export_id))
        .values_list("payload", flat=True)
        .first()
    )
    return payload["manifest"] if payload else None
