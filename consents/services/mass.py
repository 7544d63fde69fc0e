"""Changing many consents at once: the night's expiries, every consent of a
recipient revoked or paused while it is suspended, a retired purpose's consents.

The work runs in batches. Each batch is one transaction that locks its consents
(skipping any another transaction holds), moves them with one UPDATE, appends
one audit event per consent under one hold of the chain's lock, and queues every
party's notices: a consent never changes without its event and notices, as in
`consents.services.lifecycle`, but a batch of thousands costs a few statements.

A change started by an operator is a `MassChange` job: its batches add to its
`changed` count in their own transactions, so the count is exact and a job that
stopped anywhere (a killed worker, a deploy) is run again from where it is: the
consents it already moved no longer match. Beat resumes unfinished jobs
(`resume_mass_changes`); two runners of one job share the work without
touching a consent twice.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from audit.actors import SYSTEM, Actor
from audit.services import record_event, record_events
from consents.errors import InvalidTransitionError, NotFoundError
from consents.models import Consent, DataSubject, MassChange, Organization, Purpose
from consents.services.lifecycle import (
    TRANSITIONS,
    transition_action,
    transition_payload,
)
from consents.webhooks.outbox import queue_notices_of_consents
from consents.webhooks.relay import send_task

logger = logging.getLogger(__name__)

Status = Consent.Status
Kind = MassChange.Kind

RUN_TASK = "consents.tasks.run_mass_change_task"
BATCH_SIZE = 2000
# A batch that finds nothing free while matching consents remain (another
# runner's batch, a person's own revocation holds them) waits and tries again;
# after this many tries the job is left to the next resumption.
_BUSY_TRIES = 50
_BUSY_WAIT_SECONDS = 0.2

EXPIRY_REASON = "expires_at passed"
# Pauses made by a suspension say so, and a reactivation resumes only those:
# a consent the person paused stays paused.
SUSPENSION_REASON = "organization suspended"
DEFAULT_REASONS = {
    Kind.REVOKE_RECIPIENT: "every consent of the recipient revoked",
    Kind.PAUSE_RECIPIENT: SUSPENSION_REASON,
    Kind.RESUME_RECIPIENT: "organization reactivated",
    Kind.LAPSE_PURPOSE: "purpose retired",
}


# What a batch reads of its consents: the event's and the notices' fields.
_READ = (
    "status",
    "subject_id",
    "recipient_id",
    "purpose_id",
    "scope_codes",
    "holder_codes",
    "starts_at",
    "expires_at",
    "superseded_by_id",
)


@dataclass(frozen=True)
class Selection:
    """The consents a change still has to move (`where`), and where to."""

    where: Q
    to: str
    reason: str


@dataclass(frozen=True)
class Outcome:
    changed: int
    finished: bool


def _job_selection(job: MassChange, now: datetime) -> Selection:
    live = Q(status__in=Consent.LIVE_STATUSES)
    if job.kind == Kind.REVOKE_RECIPIENT:
        return Selection(
            Q(recipient_id=job.organization_id) & live, Status.REVOKED, job.reason
        )
    if job.kind == Kind.PAUSE_RECIPIENT:
        where = Q(recipient_id=job.organization_id, status=Status.ACTIVE)
        return Selection(where, Status.PAUSED, SUSPENSION_REASON)
    if job.kind == Kind.RESUME_RECIPIENT:
        where = Q(
            recipient_id=job.organization_id,
            status=Status.PAUSED,
            status_reason=SUSPENSION_REASON,
            expires_at__gt=now,
        )
        return Selection(where, Status.ACTIVE, job.reason)
    return Selection(Q(purpose_id=job.purpose_id) & live, Status.EXPIRED, job.reason)


def change_batch(
    selection: Selection,
    *,
    actor: Actor,
    now: datetime,
    batch_size: int = BATCH_SIZE,
    job_id: UUID | None = None,
) -> int:
    """Move up to `batch_size` free consents of `selection` in one transaction,
    with their audit events and notices; how many moved."""
    action = transition_action(selection.to)
    reason = selection.reason[:500]
    with transaction.atomic():
        consents = list(
            Consent.objects.select_for_update(skip_locked=True)
            .only(*_READ)
            .filter(selection.where)
            .order_by()[:batch_size]
        )
        if not consents:
            return 0
        pseudonyms = _attach_parties(consents)
        previous = {consent.pk: consent.status for consent in consents}
        wrong = {s for s in previous.values() if selection.to not in TRANSITIONS[s]}
        if wrong:
            raise InvalidTransitionError(
                f"a {min(wrong)} consent cannot become {selection.to}"
            )
        changes = {
            "status": selection.to,
            "status_changed_at": now,
            "status_changed_by": str(actor),
            "status_reason": reason,
        }
        Consent.objects.filter(pk__any=list(previous)).update(_service=True, **changes)
        for consent in consents:
            for name, value in changes.items():
                setattr(consent, name, value)
        queue_notices_of_consents(consents, event_type=action, now=now)
        if job_id is not None:
            MassChange.objects.filter(pk=job_id).update(
                changed=F("changed") + len(consents), updated_at=now
            )
        # Last: from here to the commit the chain's lock is held, and other
        # runners' batches wait for it.
        record_events(
            [
                {
                    "action": action,
                    "actor": actor,
                    "subject": pseudonyms[consent.subject_id],
                    "recipient": consent.recipient.code,
                    "purpose": consent.purpose.code,
                    "consent_id": consent.pk,
                    "payload": transition_payload(
                        previous[consent.pk], selection.to, reason
                    ),
                    "occurred_at": now,
                }
                for consent in consents
            ]
        )
    return len(consents)


def _attach_parties(consents: list[Consent]) -> dict[UUID, str]:
    """Give each consent its recipient and purpose (a batch has few of each,
    read once) and return the people's pseudonyms by subject id; cheaper than
    joining them to every row."""
    organizations = Organization.objects.in_bulk({c.recipient_id for c in consents})
    purposes = Purpose.objects.in_bulk({c.purpose_id for c in consents})
    for consent in consents:
        consent.recipient = organizations[consent.recipient_id]
        consent.purpose = purposes[consent.purpose_id]
    subject_ids = list({c.subject_id for c in consents})
    return dict(
        DataSubject.objects.filter(pk__any=subject_ids).values_list("pk", "pseudonym")
    )


def run_in_batches(
    selection_at: Callable[[datetime], Selection],
    *,
    actor: Actor,
    batch_size: int = BATCH_SIZE,
    job_id: UUID | None = None,
    max_seconds: float | None = None,
    on_batch: Callable[[int], None] | None = None,
    runners: int | None = None,
) -> Outcome:
    """Batches until nothing matches (finished) or `max_seconds` have passed,
    by `runners` threads side by side (`CMP_MASS_CHANGE_RUNNERS`; one on
    SQLite or inside a transaction).

    A batch spends about half its time waiting for PostgreSQL; a second runner
    hashes and builds its notices meanwhile. They meet only at the chain's
    lock, which each batch takes last, just before its commit."""
    if runners is None:
        runners = settings.CMP_MASS_CHANGE_RUNNERS
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        # Other connections would not see what the caller has not committed.
        runners = 1
    deadline = None if max_seconds is None else time.monotonic() + max_seconds

    def run() -> Outcome:
        return _run_batches(selection_at, actor, batch_size, job_id, deadline, on_batch)

    if runners <= 1:
        return run()
    outcomes: list[Outcome] = []
    failures: list[BaseException] = []

    def runner() -> None:
        try:
            outcomes.append(run())
        except BaseException as exc:  # re-raised in the caller below
            failures.append(exc)
        finally:
            connection.close()  # this thread's own connection

    threads = [threading.Thread(target=runner) for _ in range(runners)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise failures[0]
    return Outcome(
        sum(o.changed for o in outcomes), finished=all(o.finished for o in outcomes)
    )


def _run_batches(
    selection_at: Callable[[datetime], Selection],
    actor: Actor,
    batch_size: int,
    job_id: UUID | None,
    deadline: float | None,
    on_batch: Callable[[int], None] | None,
) -> Outcome:
    changed = busy = 0
    while deadline is None or time.monotonic() < deadline:
        now = timezone.now()
        selection = selection_at(now)
        moved = change_batch(
            selection, actor=actor, now=now, batch_size=batch_size, job_id=job_id
        )
        changed += moved
        if on_batch is not None and moved:
            on_batch(moved)
        if moved:
            busy = 0
            continue
        if not Consent.objects.filter(selection.where).exists():
            return Outcome(changed, finished=True)
        busy += 1
        if busy >= _BUSY_TRIES:
            break
        time.sleep(_BUSY_WAIT_SECONDS)
    return Outcome(changed, finished=False)


def expire_due_consents(
    *,
    now: datetime | None = None,
    batch_size: int = BATCH_SIZE,
    max_seconds: float | None = None,
    on_batch: Callable[[int], None] | None = None,
    runners: int | None = None,
) -> int:
    """Expire every live consent whose `expires_at` has passed by `now`."""
    cutoff = now or timezone.now()
    due = Q(status__in=Consent.LIVE_STATUSES, expires_at__lte=cutoff)
    selection = Selection(due, Status.EXPIRED, EXPIRY_REASON)
    return run_in_batches(
        lambda _: selection,
        actor=SYSTEM,
        batch_size=batch_size,
        max_seconds=max_seconds,
        on_batch=on_batch,
        runners=runners,
    ).changed


def start_mass_change(
    kind: str,
    *,
    actor: Actor,
    organization: Organization | None = None,
    purpose: Purpose | None = None,
    reason: str = "",
) -> MassChange:
    """Record a job and queue its run when the caller's transaction commits."""
    now = timezone.now()
    with transaction.atomic():
        job = MassChange(
            kind=kind,
            organization=organization,
            purpose=purpose,
            actor=str(actor),
            reason=(reason or DEFAULT_REASONS[Kind(kind)])[:500],
            created_at=now,
            updated_at=now,
        )
        job.total = Consent.objects.filter(_job_selection(job, now).where).count()
        job.save(force_insert=True)
        record_event(
            action="mass_change.started",
            actor=actor,
            recipient=organization.code if organization else "",
            purpose=purpose.code if purpose else "",
            payload=_job_payload(job),
        )
        transaction.on_commit(lambda: _queue_run(job.pk))
    return job


def _queue_run(job_id: UUID) -> None:
    try:
        send_task(RUN_TASK, str(job_id))
    except Exception:  # the broker is down: beat's resumption runs it instead
        logger.warning("mass change %s waits for the next resumption", job_id)


def _job_payload(job: MassChange) -> dict[str, object]:
    return {
        "job": str(job.pk),
        "kind": job.kind,
        "reason": job.reason,
        "total": job.total,
        "changed": job.changed,
    }


def run_mass_change(
    job_id: UUID,
    *,
    batch_size: int = BATCH_SIZE,
    max_seconds: float | None = None,
    on_batch: Callable[[int], None] | None = None,
) -> MassChange:
    """Run a job's remaining batches; finish it when nothing is left."""
    job = MassChange.objects.filter(pk=job_id).first()
    if job is None:
        raise NotFoundError("mass change not found")
    if job.status != MassChange.Status.RUNNING:
        return job
    outcome = run_in_batches(
        lambda now: _job_selection(job, now),
        actor=Actor.parse(job.actor),
        batch_size=batch_size,
        job_id=job.pk,
        max_seconds=max_seconds,
        on_batch=on_batch,
    )
    if outcome.finished:
        _finish(job.pk, MassChange.Status.FINISHED)
    job.refresh_from_db()
    return job


def _finish(job_id: UUID, status: str) -> None:
    """Close a running job once (a second runner finds it closed)."""
    now = timezone.now()
    with transaction.atomic():
        job = (
            MassChange.objects.select_for_update()
            .filter(pk=job_id, status=MassChange.Status.RUNNING)
            .first()
        )
        if job is None:
            return
        job.status = status
        job.finished_at = job.updated_at = now
        job.save(update_fields=["status", "finished_at", "updated_at"])
        record_event(
            action=f"mass_change.{status}",
            actor=SYSTEM,
            recipient=job.organization.code if job.organization else "",
            purpose=job.purpose.code if job.purpose else "",
            payload=_job_payload(job),
        )


def cancel_mass_changes(*, organization: Organization, kind: str) -> None:
    """Stop the running jobs of `kind` for `organization` (a suspension undone
    while its pauses were still being made); what they changed stays changed."""
    running = MassChange.objects.filter(
        organization=organization, kind=kind, status=MassChange.Status.RUNNING
    ).values_list("pk", flat=True)
    for job_id in list(running):
        _finish(job_id, MassChange.Status.CANCELLED)


def resume_mass_changes(*, max_seconds: float) -> int:
    """Run unfinished jobs, oldest first, for at most `max_seconds` in all."""
    deadline = time.monotonic() + max_seconds
    changed = 0
    running = MassChange.objects.filter(status=MassChange.Status.RUNNING)
    for job_id in list(running.order_by("created_at").values_list("pk", flat=True)):
        left = deadline - time.monotonic()
        if left <= 0:
            break
        before = MassChange.objects.get(pk=job_id).changed
        changed += run_mass_change(job_id, max_seconds=left).changed - before
    return changed


def revoke_all_recipient_consents(
    *, code: str, actor: Actor, reason: str = ""
) -> MassChange:
    """Revoke every live consent given to one recipient, in batches."""
    organization = Organization.objects.filter(code=code).first()
    if organization is None:
        raise NotFoundError("organization not found")
    return start_mass_change(
        Kind.REVOKE_RECIPIENT, actor=actor, organization=organization, reason=reason
    )
