"""Periodic work, run by Celery beat; thin wrappers around services."""

from celery import shared_task

from consents import services


@shared_task(acks_late=True)
def expire_due_consents_task() -> int:
    """Expire live consents past their end; safe to run twice."""
    return services.expire_due_consents()


@shared_task(acks_late=True)
def expire_stale_consent_requests_task() -> int:
    """Close consent requests nobody answered in time; safe to run twice."""
    return services.expire_stale_consent_requests()
