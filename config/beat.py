"""Celery beat that may run on several nodes while only one sends tasks.

Each beat ticks as usual, but only the one holding a lock in Redis sends the
schedule; the lock lives `LOCK_SECONDS` and its holder renews it on every tick,
so if that beat dies another takes over within that time. Every periodic task
is safe to run twice anyway; the lock makes a second beat harmless rather than
doubling the work. Without Redis (`make run`) there is one beat and no lock.
"""

from __future__ import annotations

from typing import Any

import redis
from celery.beat import PersistentScheduler
from django.conf import settings

LOCK_SECONDS = 10.0
# How often a beat without the lock tries for it.
STANDBY_TICK_SECONDS = 1.0


def _lock_name() -> str:
    # One lock per database: two deployments (or test runs) sharing a Redis
    # each keep their own beat.
    return f"cmp:beat-leader:{settings.DATABASES['default']['NAME']}"


class SingleBeatScheduler(PersistentScheduler):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._lock = None
        if settings.REDIS_URL:
            client = redis.Redis.from_url(
                settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2
            )
            self._lock = client.lock(_lock_name(), timeout=LOCK_SECONDS)

    def _leading(self) -> bool:
        if self._lock is None:
            return True
        try:
            if self._lock.owned():
                self._lock.reacquire()  # atomic: only while the token is ours
                return True
            return bool(self._lock.acquire(blocking=False))
        except redis.RedisError:
            return False  # unsure who leads: send nothing this tick

    def tick(self, *args: Any, **kwargs: Any) -> float:
        if not self._leading():
            return STANDBY_TICK_SECONDS
        return min(super().tick(*args, **kwargs), LOCK_SECONDS / 3)
