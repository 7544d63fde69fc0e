"""A per-process snapshot of the catalog that every check needs.

Scopes' sensitivity and the known purpose, scope and organization codes change
rarely, so each process keeps them for `TTL_SECONDS` (and drops them at once when
this process changes the catalog). An unknown code triggers a reload, at most once
a second, so a new purpose or scope is usable immediately. Nothing here decides
whether a check is allowed on its own: consent status and organization status are
always read fresh.
"""

import threading
import time
from dataclasses import dataclass
from typing import cast

from django.db.models.signals import post_delete, post_save

from consents.models import Organization, Purpose, Scope

TTL_SECONDS = 30.0
_RELOAD_AT_MOST_EVERY = 1.0


@dataclass(frozen=True)
class CatalogSnapshot:
    purposes: frozenset[str]
    scopes: frozenset[str]
    sensitive: frozenset[str]
    organizations: frozenset[str]
    loaded_at: float


_lock = threading.Lock()
_snapshot: CatalogSnapshot | None = None
_last_miss_reload = float("-inf")


def _load() -> CatalogSnapshot:
    scopes = dict(Scope.objects.values_list("code", "sensitive"))
    return CatalogSnapshot(
        purposes=frozenset(Purpose.objects.values_list("code", flat=True)),
        scopes=frozenset(scopes),
        sensitive=frozenset(code for code, sensitive in scopes.items() if sensitive),
        organizations=frozenset(Organization.objects.values_list("code", flat=True)),
        loaded_at=time.monotonic(),
    )


def catalog(*, missing: bool = False) -> CatalogSnapshot:
    """The current snapshot; `missing=True` asks for a reload after a miss."""
    global _snapshot, _last_miss_reload
    snapshot = _snapshot
    now = time.monotonic()
    stale = snapshot is None or now - snapshot.loaded_at > TTL_SECONDS
    # Garbage codes must not turn every request into a reload: one a second.
    retry = missing and now - _last_miss_reload > _RELOAD_AT_MOST_EVERY
    if stale or retry:
        with _lock:
            _snapshot = snapshot = _load()
            if retry:
                _last_miss_reload = now
    return cast(CatalogSnapshot, snapshot)  # loaded above when None


def clear_catalog_cache(**_: object) -> None:
    global _snapshot, _last_miss_reload
    _snapshot = None
    _last_miss_reload = float("-inf")


for _model in (Scope, Purpose, Organization):
    post_save.connect(clear_catalog_cache, sender=_model, dispatch_uid=f"cat-{_model}")
    post_delete.connect(
        clear_catalog_cache, sender=_model, dispatch_uid=f"cat-d{_model}"
    )
