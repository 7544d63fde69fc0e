"""Data for `bench/check_throughput.py`: a catalog, organizations and N consents.

Run by the benchmark in a child process, with `bench.settings_bench`, on a
scratch database:

    DATABASE_URL=postgres://.../db .venv/bin/python -m bench.check_data \\
        --consents 1000000 --out data.json

The fixed part goes through the project's own code: `migrate`, `load_catalog`,
`register_organization` (real OAuth clients, whose credentials are written to
`--out`) and `SERVICE_CONSENTS` consents granted with `grant_consent`, two of
them then revoked. The rest is bulk SQL (`bench/check_bulk.py`) following the
layout of `bench/check_layout.py`.
"""

from __future__ import annotations

import io
import json
import sys
import time
from dataclasses import asdict
from pathlib import Path

from bench import harness
from bench.check_bulk import bulk_load, vacuum_analyze
from bench.check_layout import (
    HOLDER,
    RECIPIENTS,
    SERVICE_CONSENTS,
    SERVICE_REVOKED,
    SLOT_TERMS,
    Client,
    Dataset,
    ServiceConsent,
    bulk_subjects,
)


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
    harness.setup_django(harness.BENCH_SETTINGS)
    harness.migrate(catalog_to=io.StringIO())  # its summary stays out of the report
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


def main(argv: list[str] | None = None) -> int:
    parser = harness.argument_parser(__doc__)
    parser.add_argument("--consents", type=int, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    dataset = build(args.consents)
    args.out.write_text(json.dumps(asdict(dataset)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
