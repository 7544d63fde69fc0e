"""`cmp_common.db.cursors.fetch_all`: the same rows as Django's cursor, the same
errors, a fresh cursor after a reconnect, and visible whenever Django counts."""

import pytest
from django.db import (
    DatabaseError,
    OperationalError,
    ProgrammingError,
    connection,
    connections,
    transaction,
)
from django.db.transaction import TransactionManagementError
from django.test.utils import CaptureQueriesContext

from cmp_common.db import cursors
from tests.conftest import requires_postgres, run_in_threads

SQL = """
SELECT %s::text, now(), '2026-03-01 09:30:00.25+09'::timestamptz,
       NULL::timestamptz, '2026-03-01'::date, '["a", "b"]'::jsonb
"""

pytestmark = requires_postgres


def _django_rows(sql: str, params: list) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def test_rows_are_the_ones_djangos_cursor_reads(db):
    ours, theirs = cursors.fetch_all(SQL, ["x"]), _django_rows(SQL, ["x"])
    assert [row[2:] for row in ours] == [row[2:] for row in theirs]
    assert ours[0][2].tzinfo == theirs[0][2].tzinfo
    assert ours[0][2].isoformat() == "2026-03-01T00:30:00.250000+00:00"
    assert ours[0][1].tzinfo is not None


def test_errors_are_djangos_and_the_connection_recovers(db):
    with pytest.raises(ProgrammingError), transaction.atomic():
        cursors.fetch_all("SELECT * FROM no_such_table", [])
    assert cursors.fetch_all("SELECT 1", []) == [(1,)]


def test_a_broken_transaction_is_refused_as_django_refuses_it(db):
    with transaction.atomic():
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT * FROM no_such_table")
        except DatabaseError:
            pass
        connection.set_rollback(True)
        with pytest.raises(TransactionManagementError), transaction.atomic():
            cursors.fetch_all("SELECT 1", [])


def test_a_new_connection_gets_a_new_cursor(committed_db):
    assert cursors.fetch_all("SELECT 1", []) == [(1,)]
    first = connection.connection
    connection.close()
    assert cursors.fetch_all("SELECT 2", []) == [(2,)]
    assert connection.connection is not first
    assert cursors._local.kept[0] is connection.connection  # the plain cursor


def test_a_terminated_backend_raises_djangos_operational_error(committed_db):
    cursors.fetch_all("SELECT 1", [])
    pid = cursors.fetch_all("SELECT pg_backend_pid()", [])[0][0]
    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
    finally:
        other.close()
    with pytest.raises(OperationalError):
        cursors.fetch_all("SELECT 1", [])
    assert connection.errors_occurred
    connection.close_if_unusable_or_obsolete()  # what a request's end does
    assert cursors.fetch_all("SELECT 3", []) == [(3,)]


def test_each_thread_uses_its_own_connection(committed_db):
    pids: list[int] = []
    run_in_threads(
        lambda: pids.append(cursors.fetch_all("SELECT pg_backend_pid()", [])[0][0]),
        count=3,
    )
    assert len(set(pids)) == 3


def test_counted_queries_go_through_djangos_cursor(db):
    with CaptureQueriesContext(connection) as captured:
        cursors.fetch_all("SELECT %s::int", [7])
    assert [q["sql"] for q in captured.captured_queries] == ["SELECT 7::int"]

    seen = []

    def wrapper(execute, sql, params, many, context):
        seen.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(wrapper):
        assert cursors.fetch_all("SELECT 1", []) == [(1,)]
    assert seen == ["SELECT 1"]


def test_insert_rows_fills_defaults_and_gives_each_row_its_own_key(db):
    """Keys a row leaves out are made for each row, not once for all; serials
    are the database's."""
    from django.utils import timezone

    from consents.models import DataSubject, Purpose

    now = timezone.now()
    cursors.insert_rows(DataSubject, [{"created_at": now} for _ in range(3)])
    made = DataSubject.objects.filter(created_at=now)
    assert made.count() == 3
    assert len(set(made.values_list("pseudonym", flat=True))) == 3
    assert set(made.values_list("time_zone", "erased_at")) == {("", None)}
    cursors.insert_rows(
        Purpose, [{"code": f"p{n}", "name_ko": "목적", "name_en": "P"} for n in (1, 2)]
    )
    assert Purpose.objects.filter(code__in=["p1", "p2"]).count() == 2
