"""Check events: staged durably before the check's answer leaves.

A check is the hot path, so its event skips the chain's lock: one INSERT into
`audit_pendingevent` through the kept psycopg cursor, committed before the answer
is sent, and the sealer chains staged events a moment later, in order
(`audit.services.seal_pending_events`). So no check that a client received an
answer for is missing from the trail after any web or worker process dies,
SIGKILL included.

The commit does not wait for the WAL to reach the disk (`synchronous_commit` is
`off` for that one transaction): it costs a round trip, not a disk flush. What a
crash of the PostgreSQL server itself (not of a client) may lose is the last
moments of check events, at most about three times `wal_writer_delay` (600 ms by
default). Grants, revocations, transfers and everything else keep the server's
setting and wait for the disk. Inside an enclosing transaction the event is one
more row of it, and that transaction's own commit decides.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from django.db import connection

from audit.chain import CONTENT_FIELDS
from cmp_common.db.cursors import execute

_COLUMNS = ", ".join(CONTENT_FIELDS)
_VALUES = ", ".join(["%s"] * (len(CONTENT_FIELDS) - 1) + ["%s::jsonb"])
# set_config(..., true) lasts for the statement's own transaction: its commit.
_STAGE_SQL = (
    f"INSERT INTO audit_pendingevent ({_COLUMNS}) SELECT {_VALUES} "
    "FROM (SELECT set_config('synchronous_commit', 'off', true)) AS no_disk_wait"
)
_STAGE_IN_TRANSACTION_SQL = (
    f"INSERT INTO audit_pendingevent ({_COLUMNS}) VALUES ({_VALUES})"
)


def stage_now(event: Mapping[str, Any]) -> None:
    """Stage one event and, outside a transaction, commit it (PostgreSQL)."""
    sql = _STAGE_IN_TRANSACTION_SQL if connection.in_atomic_block else _STAGE_SQL
    execute(sql, staged_row(event))


def staged_row(event: Mapping[str, Any]) -> list[Any]:
    """The event's content fields, the payload as jsonb text."""
    row = [event[name] for name in CONTENT_FIELDS]
    row[-1] = orjson.dumps(row[-1]).decode()
    return row
