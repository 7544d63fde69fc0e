"""What `/readyz` asks before a node takes traffic, and what `/metrics` reports.

Ready means: PostgreSQL answers, the broker accepts a connection, beat's
heartbeat is fresh (so beat, the broker and a worker all work), and staged check
events are being sealed (the oldest is younger than the allowed lag). Liveness
(`/healthz`) stays a single `SELECT 1`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import connection
from django.utils import timezone
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from audit.selectors import oldest_staged_at, trail_health
from config.celery import app
from config.models import Heartbeat
from config.tasks import BEAT
from consents.selectors import notice_health


@dataclass(frozen=True)
class Probe:
    name: str
    ok: bool
    detail: str


def _age(moment: datetime | None, now: datetime) -> float | None:
    return None if moment is None else max(0.0, (now - moment).total_seconds())


def _database() -> Probe:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as exc:  # any failure is the answer
        return Probe("database", False, type(exc).__name__)
    return Probe("database", True, "answers")


def _broker() -> Probe:
    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
    except Exception as exc:  # any failure is the answer
        return Probe("broker", False, f"unreachable ({type(exc).__name__})")
    return Probe("broker", True, "accepts connections")


def _last_heartbeat() -> datetime | None:
    beat = Heartbeat.objects.filter(name=BEAT).values_list("beat_at", flat=True)
    return beat.first()


def _beat(now: datetime) -> Probe:
    age = _age(_last_heartbeat(), now)
    limit = settings.CMP_READY_MAX_HEARTBEAT_SECONDS
    if age is None:
        return Probe("beat", False, "no heartbeat yet")
    return Probe("beat", age <= limit, f"last heartbeat {age:.0f} s ago")


def _sealing(now: datetime) -> Probe:
    # Only the oldest staged event: a probe answers every few seconds.
    lag = _age(oldest_staged_at(), now) or 0.0
    limit = settings.CMP_READY_MAX_SEAL_LAG_SECONDS
    return Probe("sealing", lag <= limit, f"oldest staged event {lag:.0f} s old")


def readiness() -> list[Probe]:
    now = timezone.now()
    database = _database()
    if not database.ok:
        return [database, _broker()]
    return [database, _broker(), _beat(now), _sealing(now)]


# name: help text; the values are read from the database at each scrape.
GAUGES = {
    "cmp_staged_events": "Check events staged, not yet sealed",
    "cmp_seal_lag_seconds": "Age of the oldest staged event",
    "cmp_checkpoint_age_seconds": "Age of the last signed checkpoint",
    "cmp_last_verification_ok": "1 if the last verification of the trail succeeded",
    "cmp_last_verification_age_seconds": "Age of the last verification of the trail",
    "cmp_deliveries_pending": "Notices waiting to be sent",
    "cmp_deliveries_failed": "Notices given up on",
    "cmp_oldest_due_delivery_seconds": "How long the most overdue pending notice "
    "has waited past its time",
    "cmp_mass_changes_running": "Mass changes of consents still running",
    "cmp_beat_heartbeat_age_seconds": "Age of beat's last heartbeat",
}


def _figures() -> dict[str, float | None]:
    now = timezone.now()
    trail, notices = trail_health(), notice_health()
    last = trail.last_verification or {}
    return {
        "cmp_staged_events": trail.staged,
        "cmp_seal_lag_seconds": _age(trail.oldest_staged_at, now) or 0.0,
        "cmp_checkpoint_age_seconds": _age(trail.last_checkpoint_at, now),
        "cmp_last_verification_ok": float(bool(last["ok"])) if last else None,
        "cmp_last_verification_age_seconds": _age(last.get("verified_at"), now),
        "cmp_deliveries_pending": notices.pending,
        "cmp_deliveries_failed": notices.failed,
        "cmp_oldest_due_delivery_seconds": _age(notices.oldest_due_at, now) or 0.0,
        "cmp_mass_changes_running": notices.running_mass_changes,
        "cmp_beat_heartbeat_age_seconds": _age(_last_heartbeat(), now),
    }


class PlatformCollector(Collector):
    """The platform's own gauges, read from the database at each scrape, so any
    process answers with the same figures. A figure that does not exist yet (no
    checkpoint, no verification) is left out rather than shown as zero."""

    def describe(self) -> Iterator[GaugeMetricFamily]:
        # Registration asks for the names here, not from collect(): no query
        # runs while the process starts.
        for name, text in GAUGES.items():
            yield GaugeMetricFamily(name, text)

    def collect(self) -> Iterator[GaugeMetricFamily]:
        for name, value in _figures().items():
            if value is not None:
                yield GaugeMetricFamily(name, GAUGES[name], value=float(value))


# The gauges in a registry of their own: read once per scrape, whichever of the
# processes answers it.
PLATFORM = CollectorRegistry(auto_describe=True)
PLATFORM.register(PlatformCollector())


def exposition() -> bytes:
    """Every metric in Prometheus' text format: this process's (or, with
    `PROMETHEUS_MULTIPROC_DIR`, every process's, added up) and the platform's."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    return generate_latest(registry) + generate_latest(PLATFORM)
