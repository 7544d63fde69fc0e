"""Beat's heartbeat, queued by beat and run by a worker like any task."""

from celery import shared_task
from django.utils import timezone

from config.models import Heartbeat

BEAT = "beat"


@shared_task(acks_late=True)
def heartbeat_task() -> None:
    Heartbeat.objects.update_or_create(name=BEAT, defaults={"beat_at": timezone.now()})
