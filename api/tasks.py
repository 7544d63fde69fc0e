"""Periodic work of the API, run by Celery beat."""

from celery import shared_task

from api.idempotency import purge_stored_responses


@shared_task(acks_late=True)
def purge_stored_responses_task() -> int:
    """Forget idempotency keys past their retention; safe to run twice."""
    return purge_stored_responses()
