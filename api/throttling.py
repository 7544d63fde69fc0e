"""Per-organization rate limits: a fixed-window counter.

One round trip per request (INCR and EXPIRE pipelined on Redis), instead of DRF's
default sliding log, which loads and stores every recent timestamp on every call.
A client may burst up to twice its rate across a window boundary. Without Redis
the counter lives in Django's cache (per process).
"""

import time
from functools import cache as once

import redis
from django.conf import settings
from django.core.cache import cache
from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle

from api.authentication import OrganizationPrincipal

_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rate(rate: str) -> tuple[int, int]:
    """'600/min' → (600, 60)."""
    count, _, period = rate.partition("/")
    return int(count), _SECONDS[period[0]]


@once
def _redis(url: str) -> redis.Redis:
    return redis.Redis.from_url(url)


def count_hit(key: str, period: int) -> int:
    """This window's hits including this one."""
    if settings.REDIS_URL:
        pipe = _redis(settings.REDIS_URL).pipeline(transaction=False)
        pipe.incr(key)
        pipe.expire(key, period + 1, nx=True)
        return int(pipe.execute()[0])
    try:
        return cache.incr(key)
    except ValueError:  # first hit of the window
        cache.add(key, 0, timeout=period + 1)
        return cache.incr(key)


class OrganizationRateThrottle(BaseThrottle):
    """The rate of the view's `throttle_scope` (check, write), per organization."""

    def allow_request(self, request, view) -> bool:
        scope = getattr(view, "throttle_scope", None)
        rate = api_settings.DEFAULT_THROTTLE_RATES.get(scope) if scope else None
        if rate is None or not isinstance(request.user, OrganizationPrincipal):
            return True
        limit, period = parse_rate(rate)
        now = time.time()
        window = int(now // period)
        prefix = settings.CACHES["default"].get("KEY_PREFIX", "")
        key = f"{prefix}throttle:{scope}:{request.user.organization.code}:{window}"
        count = count_hit(key, period)
        self.retry_after = max(1, int(period - now % period) + 1)
        return count <= limit

    def wait(self) -> float:
        return self.retry_after
