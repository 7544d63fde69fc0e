"""Hot statements, on PostgreSQL through a plain psycopg cursor.

The check's decision query and its event's write run on every check, and the
sealer claims every staged event. Around their round trips, Django's cursor
wrapper and its pure-Python `timestamptz` loader cost about as much client CPU as
psycopg's own work (`bench/check_throughput.py`). Here each thread keeps one
psycopg cursor per connection that loads `timestamptz` with psycopg's C loader:
aware datetimes in the session's time zone, which Django sets to UTC, as its own
loader gives.
Django's checks before a cursor (thread sharing, a broken transaction, the
health check) and its error translation still apply.

Whenever Django logs or wraps queries (DEBUG, `assertNumQueries`,
`connection.execute_wrapper`), and on other databases, the statement goes through
Django's cursor instead, so it is seen there as any other query.
"""

import threading
from collections.abc import Sequence
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections
from psycopg.types.datetime import TimestamptzLoader

_local = threading.local()


def fetch_all(sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
    """The rows of one statement, on the default connection."""
    return _run(sql, params, rows=True)


def execute(sql: str, params: Sequence[Any]) -> None:
    """Run one statement that returns no rows, on the default connection."""
    _run(sql, params, rows=False)


def _run(sql: str, params: Sequence[Any], *, rows: bool) -> list[tuple[Any, ...]]:
    db = connections[DEFAULT_DB_ALIAS]  # one lookup: the proxy costs one per use
    if db.vendor != "postgresql" or db.queries_logged or db.execute_wrappers:
        with db.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall() if rows else []
    db.validate_thread_sharing()
    db.close_if_health_check_failed()
    db.ensure_connection()
    db.validate_no_broken_transaction()
    with db.wrap_database_errors:
        cursor = _cursor(db.connection)
        cursor.execute(sql, params)
        return cursor.fetchall() if rows else []


def _cursor(raw: Any) -> Any:
    """This thread's cursor on `raw`, made again when Django has reconnected."""
    kept = getattr(_local, "kept", None)
    if kept is None or kept[0] is not raw:
        cursor = raw.cursor()
        cursor.adapters.register_loader("timestamptz", TimestamptzLoader)
        _local.kept = kept = (raw, cursor)
    return kept[1]
