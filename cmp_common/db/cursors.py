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
from collections.abc import Iterable, Sequence
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.db.models import Model
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


def copy_rows(statement: str, rows: Iterable[Sequence[Any]]) -> None:
    """Write `rows` with one `COPY ... FROM STDIN` (PostgreSQL)."""
    # Django does not wrap COPY: its errors would come out as psycopg's own.
    with (
        connection.wrap_database_errors,
        connection.cursor() as cursor,
        cursor.copy(statement) as copy,
    ):
        for row in rows:
            copy.write_row(row)


def insert_rows(model: type[Model], rows: Sequence[dict[str, Any]]) -> None:
    """Insert new rows of `model`, each a dict by field attname (keys made
    client-side, nothing to read back); a field a row leaves out takes its
    default (`auto_now` times are not filled: give them). One COPY on
    PostgreSQL, `bulk_create` elsewhere.

    For thousands of rows at once (a mass change's notices): `bulk_create`
    builds an instance and prepares every field of every row in Python, and on
    PostgreSQL passes the values as arrays whose text psycopg escapes with a
    regular expression per value; together several times the server's work.
    """
    if not rows:
        return
    if connection.vendor != "postgresql":
        model._default_manager.bulk_create([model(**row) for row in rows], 1000)
        return
    given = set(rows[0])
    # Keys the database makes (serials) are left to it.
    fields = [
        f
        for f in model._meta.concrete_fields
        if f.attname in given or not f.db_returning
    ]
    # Constant defaults once; a callable one (a new key) for each row.
    fixed = {f.attname: f.get_default() for f in fields if not callable(f.default)}
    fresh = [f for f in fields if f.attname not in given and callable(f.default)]
    names = [f.attname for f in fields]

    def values(row: dict[str, Any]) -> list[Any]:
        if fresh:
            row = {**row, **{f.attname: f.get_default() for f in fresh}}
        return [row.get(name, fixed.get(name)) for name in names]

    columns = ", ".join(connection.ops.quote_name(str(f.column)) for f in fields)
    table = connection.ops.quote_name(model._meta.db_table)
    copy_rows(f"COPY {table} ({columns}) FROM STDIN", map(values, rows))
