"""Per-organization rate limits: fixed windows, counted in Redis in batches.

Each process counts its own hits and adds them to the window's shared counter in
Redis (INCRBY and EXPIRE, pipelined) when it holds a batch of them unsent
(`BATCH_SHARE` of the limit, at least one) and on every hit once the count it
last saw nears the limit (`EXACT_FROM`). So a check pays a Redis round trip once
per batch instead of on every call, and every sync brings back the true count.
The price: each process may admit up to one batch that the others do not know of
yet, so with P processes a client can exceed its limit by at most P batches
(5 % with 5 processes); limits under 200 a window are exact. A client may also
burst up to twice its rate across a window boundary. Without Redis, or while it
is unreachable, each process counts on its own.
"""

import logging
import threading
import time
from dataclasses import dataclass
from functools import cache as once
from typing import cast

import redis
from django.conf import settings
from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle

from api.authentication import OrganizationPrincipal

log = logging.getLogger(__name__)

_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
EXACT_FROM = 0.9
BATCH_SHARE = 0.01


def parse_rate(rate: str) -> tuple[int, int]:
    """'600/min' → (600, 60)."""
    count, _, period = rate.partition("/")
    return int(count), _SECONDS[period[0]]


@once
def _redis(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1)


def _add_to_shared(key: str, hits: int, period: int) -> int | None:
    """The window's shared count after adding `hits`; None without Redis."""
    if not settings.REDIS_URL:
        return None
    try:
        pipe = _redis(settings.REDIS_URL).pipeline(transaction=False)
        pipe.incrby(key, hits)
        pipe.expire(key, period + 1, nx=True)
        return int(pipe.execute()[0])
    except redis.RedisError as error:
        log.warning("rate limit counted in this process only: %s", error)
        return None


@dataclass
class _Window:
    key: str
    known: int = 0  # the shared count at the last sync, with this process's hits
    unsent: int = 0  # this process's hits since


class HitCounter:
    """One process's view of every client's current window."""

    def __init__(self) -> None:
        self._windows: dict[tuple[str, str], _Window] = {}
        self._lock = threading.Lock()

    def hit(
        self, scope: str, client: str, *, limit: int, period: int, now: float
    ) -> int:
        """This window's hits so far, this one included (as far as is known)."""
        prefix = settings.CACHES["default"].get("KEY_PREFIX", "")
        key = f"{prefix}throttle:{scope}:{client}:{int(now // period)}"
        with self._lock:
            window = self._windows.get((scope, client))
            if window is None or window.key != key:
                window = self._windows[(scope, client)] = _Window(key)
            window.unsent += 1
            count = window.known + window.unsent
            due = (
                window.unsent >= max(1, int(limit * BATCH_SHARE))
                or count >= limit * EXACT_FROM
            )
            if not due:
                return count
            sending, window.unsent = window.unsent, 0
        shared = _add_to_shared(key, sending, period)
        with self._lock:
            if shared is None:
                window.known += sending
            else:
                window.known = max(window.known, shared)
            return window.known + window.unsent


_counter = HitCounter()


def admit(scope: str | None, client: str) -> int | None:
    """Count one call of `client` on the rate of `scope` (check, write): None when
    it is within the limit, else the seconds until the window ends."""
    rate = api_settings.DEFAULT_THROTTLE_RATES.get(scope) if scope else None
    if rate is None:
        return None
    # Rates are strings ('600/min'), whatever DRF's stubs say; a rate needs a scope.
    limit, period = parse_rate(cast(str, rate))
    now = time.time()
    count = _counter.hit(cast(str, scope), client, limit=limit, period=period, now=now)
    return None if count <= limit else max(1, int(period - now % period) + 1)


class OrganizationRateThrottle(BaseThrottle):
    """The rate of the view's `throttle_scope`, per organization."""

    def allow_request(self, request, view) -> bool:
        if not isinstance(request.user, OrganizationPrincipal):
            return True
        scope = getattr(view, "throttle_scope", None)
        self.retry_after = admit(scope, request.user.organization.code)
        return self.retry_after is None

    def wait(self) -> float | None:
        return self.retry_after
