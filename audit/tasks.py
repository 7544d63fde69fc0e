"""Periodic audit work, run by Celery beat."""

from celery import shared_task

from audit import services
from audit.checkpoints import create_checkpoint
from audit.services import seal_pending_events


@shared_task(acks_late=True)
def seal_pending_events_task() -> int:
    """Chain staged check events; safe to run twice or concurrently."""
    return seal_pending_events()


@shared_task(acks_late=True)
def create_checkpoint_task() -> int | None:
    """Sign the chain's head if it grew; safe to run twice or concurrently."""
    seal_pending_events()
    checkpoint = create_checkpoint()
    return checkpoint.size if checkpoint else None


@shared_task(acks_late=True)
def verify_audit_log_task() -> bool:
    """Verify what was appended since the last verified checkpoint; record it."""
    return services.verify_audit_log(actor=services.SYSTEM, incremental=True).ok
