"""The bulk part of `bench/check_data.py`: the layout of `bench/check_layout.py` in
SQL (`INSERT ... SELECT generate_series`), `BATCH` consents a transaction, then
`VACUUM (ANALYZE)` and a `CHECKPOINT`. Runs with Django set up.
"""

from __future__ import annotations

import json
import math
import sys
import time
from typing import Any

from bench.check_layout import (
    EXPIRED_BELOW,
    HOLDER,
    PAUSED_BELOW,
    RECIPIENTS,
    REVOKED_BELOW,
    SLOT_TERMS,
    bulk_subjects,
)

BATCH = 200_000
ACTOR = "system:bench"
EXPIRY_ACTOR = "system:cmp"  # audit.actors.SYSTEM, which expires consents


def _columns(model: Any, expressions: dict[str, str]) -> tuple[str, str]:
    """Column list and SELECT list for `model`, refusing any unknown NOT NULL field.

    `expressions` maps field attnames to SQL; a nullable field not named is NULL.
    """
    fields = {f.attname: f for f in model._meta.concrete_fields}
    unknown = sorted(set(expressions) - fields.keys())
    if unknown:
        raise RuntimeError(f"{model.__name__} has no field(s) {unknown}")
    columns, values = [], []
    for attname, field in fields.items():
        if attname in expressions:
            columns.append(field.column)
            values.append(expressions[attname])
        elif not (field.null or _database_fills(field)):
            raise RuntimeError(
                f"{model.__name__}.{attname} is NOT NULL and the bulk generator does "
                "not know how to fill it; teach bench/check_bulk.py"
            )
    return ", ".join(f'"{c}"' for c in columns), ", ".join(values)


def _database_fills(field: Any) -> bool:
    """Auto-incremented keys and fields with a database default."""
    from django.db.models import NOT_PROVIDED

    return field.db_returning or field.db_default is not NOT_PROVIDED


def _jsonb_array(codes: list[str]) -> str:
    return "'" + json.dumps(sorted(codes)) + "'::jsonb"


def _consent_expressions(ids: dict[str, Any]) -> dict[str, str]:
    """SQL for every Consent column over the columns of `_CONSENT_ROWS`."""
    from consents.models import Consent

    def by_slot(values: dict[int, Any]) -> str:
        return f"CASE WHEN slot = 0 THEN {values[0]} ELSE {values[1]} END"

    recipients = ", ".join(str(ids["org"][c]) for c in RECIPIENTS)

    def by_state(revoked: str, paused: str, expired: str, active: str) -> str:
        return (
            f"CASE WHEN b < {REVOKED_BELOW} THEN {revoked} "
            f"WHEN b < {PAUSED_BELOW} THEN {paused} "
            f"WHEN b < {EXPIRED_BELOW} THEN {expired} ELSE {active} END"
        )

    changed = "starts + interval '30 minutes'"
    expressions = {
        "id": "md5('bench-consent-' || j)::uuid",
        "subject_id": "md5('bench-subject-' || s)::uuid",
        "recipient_id": f"(ARRAY[{recipients}])[mod(s, {len(RECIPIENTS)}) + 1]",
        "purpose_id": by_slot(ids["purpose"]),
        "purpose_version_id": by_slot(ids["version"]),
        "status": by_state("'revoked'", "'paused'", "'expired'", "'active'"),
        "granted_at": "starts",
        "starts_at": "starts",
        "expires_at": "starts + interval '365 days'",
        "retention_days": by_slot(ids["retention"]),
        "collection_method": "'organization'",
        "evidence": """'{"channel": "bench"}'::jsonb""",
        "granted_by": f"'{ACTOR}'",
        "status_changed_at": by_state(
            changed, changed, "starts + interval '365 days'", "starts"
        ),
        "status_changed_by": by_state(
            f"'{ACTOR}'", f"'{ACTOR}'", f"'{EXPIRY_ACTOR}'", f"'{ACTOR}'"
        ),
        "status_reason": by_state("'bench'", "'bench'", "'expires_at passed'", "''"),
    }
    # Denormalised copies of the through tables, when the model has them.
    names = {f.name for f in Consent._meta.concrete_fields}
    for field, key in (("scope_codes", "scopes"), ("holder_codes", "holders")):
        if field in names:
            expressions[field] = by_slot(
                {slot: _jsonb_array(terms[key]) for slot, terms in SLOT_TERMS.items()}
            )
    return expressions


# Bulk consents `lo..hi-1` with their subject, slot, bucket and start time.
_CONSENT_ROWS = f"""
SELECT j, s, slot, b,
       CASE WHEN b >= {PAUSED_BELOW} AND b < {EXPIRED_BELOW}
            THEN now() - interval '400 days'
            ELSE now() - interval '1 hour' - mod(s, 300) * interval '1 day'
       END AS starts
FROM (SELECT j, j / 2 AS s, mod(j, 2) AS slot,
             mod((j / 2) * 37 + mod(j, 2) * 59, 100) AS b
      FROM generate_series(%(lo)s, %(hi)s - 1) AS j) AS numbered
"""


def _catalog_ids() -> dict[str, Any]:
    from consents.models import Organization, Purpose, Scope

    ids: dict[str, Any] = {
        "org": dict(Organization.objects.values_list("code", "id")),
        "scope": dict(Scope.objects.values_list("code", "id")),
        "purpose": {},
        "version": {},
        "retention": {},
    }
    for slot, terms in SLOT_TERMS.items():
        purpose = Purpose.objects.get(code=terms["purpose"])
        version = purpose.versions.order_by("-version").first()
        ids["purpose"][slot] = purpose.id
        ids["version"][slot] = version.id
        ids["retention"][slot] = version.retention_days
    return ids


def _insert_subjects(
    cursor: Any, lo: int, hi: int, wrapped: bytes, ids: dict[str, Any]
) -> None:
    """Subjects `lo..hi-1` and their recipient's and the holder's references."""
    from consents.models import DataSubject, SubjectReference

    columns, values = _columns(
        DataSubject,
        {
            "id": "md5('bench-subject-' || s)::uuid",
            "pseudonym": "'sub_' || lpad(to_hex(s), 24, '0')",
            "data_key_id": "'bench'",
            "wrapped_key": "%(wrapped)s",
            "time_zone": "''",  # the portal's default: the platform's zone
            "created_at": "now()",
        },
    )
    series = "FROM generate_series(%(lo)s, %(hi)s - 1) AS s"
    cursor.execute(
        f"INSERT INTO {DataSubject._meta.db_table} ({columns}) "
        f"SELECT {values} {series}",
        {"lo": lo, "hi": hi, "wrapped": wrapped},
    )
    recipients = ", ".join(str(ids["org"][c]) for c in RECIPIENTS)
    for organization, reference in (
        (f"(ARRAY[{recipients}])[mod(s, {len(RECIPIENTS)}) + 1]", "'s-' || s"),
        (str(ids["org"][HOLDER]), "'h-' || s"),
    ):
        columns, values = _columns(
            SubjectReference,
            {
                "organization_id": organization,
                "subject_id": "md5('bench-subject-' || s)::uuid",
                "reference": reference,
                "created_at": "now()",
            },
        )
        cursor.execute(
            f"INSERT INTO {SubjectReference._meta.db_table} ({columns}) "
            f"SELECT {values} {series}",
            {"lo": lo, "hi": hi},
        )


def _insert_consents(cursor: Any, lo: int, hi: int, ids: dict[str, Any]) -> None:
    """Bulk consents `lo..hi-1` with their scope and holder rows."""
    from consents.models import Consent, ConsentHolder, ConsentScope

    columns, values = _columns(Consent, _consent_expressions(ids))
    cursor.execute(
        f"INSERT INTO {Consent._meta.db_table} ({columns}) "
        f"SELECT {values} FROM ({_CONSENT_ROWS}) AS t",
        {"lo": lo, "hi": hi},
    )
    scope_ids = {
        slot: ", ".join(str(ids["scope"][code]) for code in terms["scopes"])
        for slot, terms in SLOT_TERMS.items()
    }
    cursor.execute(
        f"INSERT INTO {ConsentScope._meta.db_table} (consent_id, scope_id) "
        "SELECT md5('bench-consent-' || j)::uuid, scope_id "
        "FROM generate_series(%(lo)s, %(hi)s - 1) AS j CROSS JOIN LATERAL unnest("
        f"CASE WHEN mod(j, 2) = 0 THEN ARRAY[{scope_ids[0]}] "
        f"ELSE ARRAY[{scope_ids[1]}] END) AS scope_id",
        {"lo": lo, "hi": hi},
    )
    for slot, terms in SLOT_TERMS.items():
        for code in terms["holders"]:
            cursor.execute(
                f"INSERT INTO {ConsentHolder._meta.db_table} "
                "(consent_id, organization_id) "
                "SELECT md5('bench-consent-' || j)::uuid, %(holder)s "
                "FROM generate_series(%(lo)s, %(hi)s - 1) AS j "
                "WHERE mod(j, 2) = %(slot)s",
                {"lo": lo, "hi": hi, "holder": ids["org"][code], "slot": slot},
            )


def bulk_load(bulk_consents: int) -> None:
    """Subjects, references, consents, scopes and holders, BATCH consents a time."""
    from django.db import connection, transaction

    ids = _catalog_ids()
    wrapped = bytes(range(40))  # a placeholder: checks never unwrap subject keys
    subjects = bulk_subjects(bulk_consents)
    started = time.perf_counter()
    for lo in range(0, bulk_consents, BATCH):
        hi = min(lo + BATCH, bulk_consents)
        with transaction.atomic(), connection.cursor() as cursor:
            _insert_subjects(
                cursor, lo // 2, min(math.ceil(hi / 2), subjects), wrapped, ids
            )
            _insert_consents(cursor, lo, hi, ids)
        elapsed = time.perf_counter() - started
        print(f"  bulk: {hi:>9} / {bulk_consents} consents  {elapsed:6.1f} s")
        sys.stdout.flush()


def vacuum_analyze() -> None:
    """Statistics and visibility for the planner, then a checkpoint, so that the
    load's dirty pages are not written out while the benchmark measures."""
    from django.db import DatabaseError, connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE)")
        try:
            cursor.execute("CHECKPOINT")
        except DatabaseError as error:  # needs superuser or pg_checkpoint
            print(f"  no CHECKPOINT after the load: {error}")
