"""The layout of `bench/check_throughput.py`'s data: who holds which consent.

`bench/check_data.py` writes a scratch database by it; the benchmark picks its
check bodies by it (`bench/check_probes.py`). No Django here, so the benchmark
can use it directly.

Besides `SERVICE_CONSENTS` consents granted through the services (`svc-<k>`,
`svc-h-<k>`; `SERVICE_REVOKED` of them then revoked), bulk consent `j` (0-based)
belongs to subject `j // 2` in slot `j % 2`. Slot 0 is `spending-analysis` over
`bank.deposit` and `card.approvals` with holder `bench-bank`; slot 1 is
`marketing.personalised-offers` over `card.bills` with no holder. A subject's
recipient is `RECIPIENTS[s % len(RECIPIENTS)]`, which knows it as `s-<s>`;
`bench-bank` knows it as `h-<s>`. `bucket(s, slot)` picks the status: revoked,
paused, expired (past `expires_at`, as the expiry job leaves it) or active and
valid; no live consent is due for expiry, so the beat job has nothing to do.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

RECIPIENTS = ("bench-app-a", "bench-app-b")
HOLDER = "bench-bank"
SLOT_TERMS: dict[int, dict[str, Any]] = {
    0: {
        "purpose": "spending-analysis",
        "scopes": ["bank.deposit", "card.approvals"],
        "holders": [HOLDER],
    },
    1: {
        "purpose": "marketing.personalised-offers",
        "scopes": ["card.bills"],
        "holders": [],
    },
}
SERVICE_CONSENTS = 10
SERVICE_REVOKED = (8, 9)

# Buckets 0..99 of `bucket()`: [0, 4) revoked, [4, 7) paused, [7, 10) expired,
# the rest active and valid. Expired consents ended 35 days ago and are stored as
# the beat job `expire_due_consents` leaves them (status "expired"): left active,
# the job would expire thousands of them, one audit event each, while the
# benchmark measures.
REVOKED_BELOW, PAUSED_BELOW, EXPIRED_BELOW = 4, 7, 10


def bucket(subject: int, slot: int) -> int:
    return (subject * 37 + slot * 59) % 100


def state(subject: int, slot: int) -> str:
    """`revoked`, `paused`, `expired` or `active` (valid now)."""
    b = bucket(subject, slot)
    if b < REVOKED_BELOW:
        return "revoked"
    if b < PAUSED_BELOW:
        return "paused"
    if b < EXPIRED_BELOW:
        return "expired"
    return "active"


def recipient_of(subject: int) -> str:
    return RECIPIENTS[subject % len(RECIPIENTS)]


def bulk_subjects(bulk_consents: int) -> int:
    return math.ceil(bulk_consents / 2)


def has_slot(subject: int, slot: int, bulk_consents: int) -> bool:
    return 2 * subject + slot < bulk_consents


@dataclass(frozen=True)
class Client:
    code: str
    client_id: str
    client_secret: str


@dataclass(frozen=True)
class ServiceConsent:
    """A consent granted through `grant_consent`, named by `svc-<k>`/`svc-h-<k>`."""

    index: int
    recipient: str
    reference: str
    holder_reference: str
    revoked: bool


@dataclass(frozen=True)
class Dataset:
    consents: int
    bulk_consents: int
    subjects: int
    clients: list[Client]
    service_consents: list[ServiceConsent]
    table_rows: dict[str, int]
    service_seconds: float
    bulk_seconds: float
    analyze_seconds: float


def load_dataset(path: Path) -> Dataset:
    raw = json.loads(path.read_text())
    raw["clients"] = [Client(**c) for c in raw["clients"]]
    raw["service_consents"] = [ServiceConsent(**s) for s in raw["service_consents"]]
    return Dataset(**raw)
