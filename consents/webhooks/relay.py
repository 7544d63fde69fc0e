"""The relay: hands due deliveries to Celery workers, one task per delivery.

It claims rows with `SELECT … FOR UPDATE SKIP LOCKED`, so any number of relays
run side by side without handing out a row twice, and marks each with a lease.
A task lost with its broker or worker leaves that short lease to run out; the
next relay then finds the row due again. PostgreSQL holds the truth; the broker only
carries wake-ups.
"""

import logging
from datetime import datetime, timedelta
from uuid import UUID

from celery import current_app
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from consents.webhooks.models import Delivery

logger = logging.getLogger(__name__)

# The tasks module sits above this one and calls it; tasks are found by name in
# the Celery app's registry rather than imported back.
DELIVER_TASK = "consents.tasks.deliver_webhook_task"
RELAY_TASK = "consents.tasks.relay_deliveries_task"


def send_task(name: str, *args: str) -> None:
    """Queue the registered task `name`; raises when the broker is unreachable."""
    current_app.tasks[name].apply_async(args=args, retry=False)


def claim_due_deliveries(*, now: datetime, limit: int) -> list[UUID]:
    """Due, unleased deliveries, now leased to the caller for dispatch.

    The lease is short: a task lost before any worker started it (with a broker
    that restarted empty, or a worker killed with messages it had taken) leaves
    its delivery due again seconds later. A worker that starts the task claims
    the delivery for the length of an attempt (`consents.webhooks.delivery`), so
    a task handed out twice makes one attempt.
    """
    lease = timedelta(seconds=settings.CMP_WEBHOOK_DISPATCH_LEASE_SECONDS)
    with transaction.atomic():
        ids = list(
            Delivery.objects.select_for_update(skip_locked=True)
            .filter(status=Delivery.Status.PENDING, next_attempt_at__lte=now)
            .filter(Q(leased_until__isnull=True) | Q(leased_until__lte=now))
            .order_by("next_attempt_at")
            .values_list("id", flat=True)[:limit]
        )
        Delivery.objects.filter(pk__in=ids).update(leased_until=now + lease)
    return ids


def _release(ids: list[UUID]) -> None:
    Delivery.objects.filter(pk__in=ids).update(leased_until=None)


def relay_due_deliveries(*, now: datetime | None = None, limit: int = 500) -> int:
    """Send a delivery task for every due delivery; the count handed out."""
    ids = claim_due_deliveries(now=now or timezone.now(), limit=limit)
    for index, delivery_id in enumerate(ids):
        try:
            send_task(DELIVER_TASK, str(delivery_id))
        except Exception:
            # The broker is gone: let the rest be claimed again at once when it
            # is back, instead of waiting out their leases.
            logger.warning("broker unavailable; %d deliveries wait", len(ids) - index)
            _release(ids[index:])
            return index
    return len(ids)
