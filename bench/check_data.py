"""Data for `bench/check_throughput.py`: a catalog, organizations and N consents.

Run by the benchmark in a child process, on a scratch database:

    DJANGO_SETTINGS_MODULE=bench.settings_bench DATABASE_URL=postgres://.../db \\
        .venv/bin/python -m bench.check_data --consents 1000000 --out data.json

The fixed part goes through the project's own code: `migrate`, `load_catalog`,
`register_organization` (real OAuth clients, whose credentials are written to
`--out`) and `SERVICE_CONSENTS` consents granted with `grant_consent`, two of
them then revoked. The rest is bulk SQL (`INSERT ... SELECT generate_series`) in
batches, following the deterministic layout below, then `VACUUM (ANALYZE)` and
a `CHECKPOINT`.

Layout of the bulk part. Bulk consent `j` (0-based) belongs to subject `j // 2`
in slot `j % 2`. Slot 0 is `spending-analysis` over `bank.deposit` and
`card.approvals` with holder `bench-bank`; slot 1 is
`marketing.personalised-offers` over `card.bills` with no holder. A subject's
recipient is `RECIPIENTS[s % len(RECIPIENTS)]`, which knows it as `s-<s>`;
`bench-bank` knows it as `h-<s>`. `bucket(s, slot)` picks the status: revoked,
paused, expired (past `expires_at`, as the expiry job leaves it) or active and
valid; no live consent is due for expiry, so the beat job has nothing to do.
The module imports no Django at the top, so the benchmark can use the layout
functions directly.
"""

from __future__ import annotations

import argparse
import io
import json
import math
import sys
import time
from dataclasses import asdict, dataclass
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
BATCH = 200_000
ACTOR = "system:bench"

# Buckets 0..99 of `bucket()`: [0, 4) revoked, [4, 7) paused, [7, 10) expired,
# the rest active and valid. Expired consents ended 35 days ago and are stored as
# the beat job `expire_due_consents` leaves them (status "expired"): left active,
# the job would expire thousands of them, one audit event each, while the
# benchmark measures.
REVOKED_BELOW, PAUSED_BELOW, EXPIRED_BELOW = 4, 7, 10
EXPIRY_ACTOR = "system:cmp"  # audit.actors.SYSTEM, which expires consents


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


# --- Django part (only in the child process) --------------------------------------


def setup_django() -> None:
    import django

    django.setup()


def migrate_and_load_catalog() -> None:
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    call_command("load_catalog", verbosity=0, stdout=io.StringIO())


def register_clients() -> list[Client]:
    from audit.actors import Actor
    from consents.services import register_organization

    actor = Actor("staff", "bench")
    clients = []
    for code in (*RECIPIENTS, HOLDER):
        issued = register_organization(code=code, name=f"Bench {code}", actor=actor)
        clients.append(Client(code, issued.client_id, issued.client_secret))
    return clients


def grant_service_consents() -> list[ServiceConsent]:
    """Consents through the services, as the API would record them."""
    from audit.actors import Actor
    from consents import services
    from consents.models import Organization

    actor = Actor("staff", "bench")
    orgs = {o.code: o for o in Organization.objects.all()}
    terms = SLOT_TERMS[0]
    made = []
    for k in range(SERVICE_CONSENTS):
        recipient = RECIPIENTS[k % len(RECIPIENTS)]
        subject = services.register_subject(
            identifier=f"bench-{k}@example.kr", name="Bench", actor=actor
        )
        for code, reference in ((recipient, f"svc-{k}"), (HOLDER, f"svc-h-{k}")):
            services.link_subject_reference(
                organization=orgs[code],
                subject=subject,
                reference=reference,
                actor=actor,
            )
        consent = services.grant_consent(
            subject=subject,
            recipient=orgs[recipient],
            purpose_code=terms["purpose"],
            scope_codes=terms["scopes"],
            holder_codes=terms["holders"],
            actor=actor,
            collection_method="organization",
            evidence={"channel": "bench"},
        )
        revoked = k in SERVICE_REVOKED
        if revoked:
            services.revoke_consent(consent_id=consent.id, actor=actor, reason="bench")
        made.append(ServiceConsent(k, recipient, f"svc-{k}", f"svc-h-{k}", revoked))
    return made


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
                "not know how to fill it; teach bench/check_data.py"
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


def check_nothing_due() -> None:
    """No live consent past `expires_at`: the beat job must stay idle."""
    from django.utils import timezone

    from consents.models import Consent

    due = Consent.objects.filter(
        status__in=Consent.LIVE_STATUSES, expires_at__lte=timezone.now()
    ).count()
    if due:
        raise RuntimeError(f"{due} live consents are due for expiry")


def check_denormalised(service: list[ServiceConsent]) -> None:
    """Bulk rows carry the same frozen code lists as a consent from the services."""
    from consents.models import Consent, SubjectReference

    names = [
        f.name
        for f in Consent._meta.concrete_fields
        if f.name in ("scope_codes", "holder_codes")
    ]
    if not names:
        return
    first = service[0]
    ref = SubjectReference.objects.get(
        organization__code=first.recipient, reference=first.reference
    )
    expected = Consent.objects.filter(subject_id=ref.subject_id).values(*names).first()
    bulk = Consent.objects.filter(subject__references__reference="s-0")
    got = bulk.filter(purpose__code=SLOT_TERMS[0]["purpose"]).values(*names).first()
    if expected != got:
        raise RuntimeError(
            f"bulk consent {got} differs from service consent {expected}"
        )


def table_rows() -> dict[str, int]:
    from audit.models import AuditEvent
    from consents.models import (
        Consent,
        ConsentHolder,
        ConsentScope,
        DataSubject,
        SubjectReference,
    )

    models = (
        DataSubject,
        SubjectReference,
        Consent,
        ConsentScope,
        ConsentHolder,
        AuditEvent,
    )
    return {m._meta.db_table: m.objects.count() for m in models}


def build(consents: int) -> Dataset:
    if consents < 1000:
        raise SystemExit("--consents must be at least 1000")
    setup_django()
    migrate_and_load_catalog()
    started = time.perf_counter()
    clients = register_clients()
    service = grant_service_consents()
    service_seconds = time.perf_counter() - started
    bulk_consents = consents - SERVICE_CONSENTS
    started = time.perf_counter()
    bulk_load(bulk_consents)
    bulk_seconds = time.perf_counter() - started
    started = time.perf_counter()
    vacuum_analyze()
    analyze_seconds = time.perf_counter() - started
    check_denormalised(service)
    check_nothing_due()
    return Dataset(
        consents=consents,
        bulk_consents=bulk_consents,
        subjects=bulk_subjects(bulk_consents),
        clients=clients,
        service_consents=service,
        table_rows=table_rows(),
        service_seconds=service_seconds,
        bulk_seconds=bulk_seconds,
        analyze_seconds=analyze_seconds,
    )


def load_dataset(path: Path) -> Dataset:
    raw = json.loads(path.read_text())
    raw["clients"] = [Client(**c) for c in raw["clients"]]
    raw["service_consents"] = [ServiceConsent(**s) for s in raw["service_consents"]]
    return Dataset(**raw)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--consents", type=int, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    dataset = build(args.consents)
    args.out.write_text(json.dumps(asdict(dataset)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
