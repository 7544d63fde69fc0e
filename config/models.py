"""The one record the wiring keeps: when beat last proved itself alive."""

from django.db import models


class Heartbeat(models.Model):
    """Written by a task that beat queues every few seconds: a fresh one shows
    that beat, the broker and a worker all work (`/readyz`)."""

    name = models.CharField(max_length=32, primary_key=True)
    beat_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name} at {self.beat_at:%Y-%m-%d %H:%M:%S}"
