"""Periodic audit work, run by Celery beat."""

from celery import shared_task

from audit.services import seal_pending_events


@shared_task(acks_late=True)
def seal_pending_events_task() -> int:
    """Chain staged check events; safe to run twice or concurrently."""
    return seal_pending_events()
