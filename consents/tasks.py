"""Periodic work, run by Celery beat; thin wrappers around services."""

from uuid import UUID

from celery import shared_task

from consents import services
from consents.services.reminders import send_expiry_reminders
from consents.webhooks.delivery import attempt_delivery
from consents.webhooks.relay import relay_due_deliveries

# Well inside the tasks' 300 s hard limit: a batch in flight finishes cleanly.
MASS_CHANGE_SECONDS = 240.0


@shared_task(acks_late=True)
def expire_due_consents_task() -> int:
    """Expire live consents past their end; safe to run twice or side by side."""
    return services.expire_due_consents(max_seconds=MASS_CHANGE_SECONDS)


@shared_task(acks_late=True)
def run_mass_change_task(job_id: str) -> int:
    """Run a mass change's batches until it finishes or the task's time is up;
    what is left waits for `resume_mass_changes_task`."""
    job = services.run_mass_change(UUID(job_id), max_seconds=MASS_CHANGE_SECONDS)
    return job.changed


@shared_task(acks_late=True)
def resume_mass_changes_task() -> int:
    """Go on with mass changes that stopped before finishing; safe to overlap."""
    return services.resume_mass_changes(max_seconds=MASS_CHANGE_SECONDS)


@shared_task(acks_late=True)
def expire_stale_consent_requests_task() -> int:
    """Close consent requests nobody answered in time; safe to run twice."""
    return services.expire_stale_consent_requests()


@shared_task(acks_late=True)
def relay_deliveries_task() -> int:
    """Hand due webhook deliveries to workers; safe to run concurrently."""
    return relay_due_deliveries()


@shared_task(acks_late=True)
def deliver_webhook_task(delivery_id: str) -> str | None:
    """One attempt of one delivery if it is due; a duplicate finds nothing to do."""
    return attempt_delivery(UUID(delivery_id))


@shared_task(acks_late=True)
def send_expiry_reminders_task() -> int:
    """E-mail people whose consents end soon, once per consent."""
    return send_expiry_reminders()
