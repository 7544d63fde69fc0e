"""Benchmark: a midnight of expiries, in batches, against one consent at a time.

What it measures. One recipient and one holder, each with a webhook endpoint
that takes every consent event, and `--consents` consents (default 100,000)
that are all due: each with its person, both organizations' references, a scope
and the holder. `expire_due_consents` (the beat task's service) expires them in
batched transactions; every consent gets its `consent.expired` audit event and
a notice to both parties in the transaction that changes it. Reported: state
changes per second, audit events and notices written, and the chain verified
over what was appended.

The batches run in `--runners` threads (default `CMP_MASS_CHANGE_RUNNERS`, 2),
as the beat task does.

The baseline, in the same run on the same database: `--sample` consents of the
same shape (not due) revoked one per transaction with `revoke_consent`, the
path a single change takes (the same writes: state, event, notices).

`--rounds` repeats both on fresh consents (all seeded up front) and reports the
median; the target is at least 5,000 state changes/s.

Run from the project root:

    .venv/bin/python bench/mass_changes.py [--consents 100000] [--sample 2000]
        [--rounds 3] [--batch-size 2000] [--database-url postgres://...]

By default it runs on a PostgreSQL server of its own (`bench/own_postgres.py`).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a file
from bench import harness

TARGET_RATE = 5_000
RECIPIENT, HOLDER = "moneylog", "hanbit-bank"
PURPOSE, SCOPE = "spending-analysis", "bank.deposit"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = harness.argument_parser(__doc__)
    parser.add_argument("--consents", type=int, default=100_000)
    parser.add_argument("--sample", type=int, default=2_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=2_000)
    parser.add_argument(
        "--runners", type=int, default=None, help="default CMP_MASS_CHANGE_RUNNERS"
    )
    return harness.parse_args(parser, argv, own_server=True)


def _execute(sql: str, params: dict | None = None) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def set_up_parties() -> dict[str, int]:
    """The two organizations through the services, each with an endpoint."""
    from audit.actors import Actor
    from consents.services import register_organization
    from consents.services.endpoints import register_webhook_endpoint

    actor = Actor("staff", "bench")
    ids = {}
    for code in (RECIPIENT, HOLDER):
        organization = register_organization(code=code, name=code, actor=actor)
        register_webhook_endpoint(
            organization=organization.organization,
            url=f"https://{code}.example/hooks",
            actor=actor,
        )
        ids[code] = organization.organization.pk
    return ids


def seed(lo: int, hi: int, expires_at: datetime, orgs: dict[str, int]) -> None:
    """Consents `lo..hi-1`, each with a person of its own, both references, a
    scope and the holder, expiring at `expires_at`; as a grant leaves them."""
    from django.db import transaction

    from consents.models import Purpose, Scope

    purpose = Purpose.objects.get(code=PURPOSE)
    version = purpose.versions.order_by("-version").first()
    params = {
        "lo": lo,
        "hi": hi,
        "expires": expires_at,
        "starts": expires_at - timedelta(days=300),
        "recipient": orgs[RECIPIENT],
        "holder": orgs[HOLDER],
        "purpose": purpose.pk,
        "version": version.pk,
        "retention": version.retention_days,
        "scope": Scope.objects.get(code=SCOPE).pk,
        "scopes": f'["{SCOPE}"]',
        "holders": f'["{HOLDER}"]',
    }
    series = "FROM generate_series(%(lo)s, %(hi)s - 1) AS n"
    subject = "md5('mass-subject-' || n)::uuid"
    consent = "md5('mass-consent-' || n)::uuid"
    with transaction.atomic():
        _execute(
            "INSERT INTO consents_datasubject (id, pseudonym, data_key_id, "
            "wrapped_key, time_zone, created_at) "
            f"SELECT {subject}, 'sub_' || lpad(to_hex(n), 24, '0'), 'bench', "
            f"'\\x00'::bytea, '', now() {series}",
            params,
        )
        for org, prefix in (("recipient", "r-"), ("holder", "h-")):
            _execute(
                "INSERT INTO consents_subjectreference "
                "(organization_id, subject_id, reference, created_at) "
                f"SELECT %({org})s, {subject}, '{prefix}' || n, now() {series}",
                params,
            )
        _execute(
            "INSERT INTO consents_consent (id, subject_id, recipient_id, purpose_id, "
            "purpose_version_id, scope_codes, holder_codes, status, granted_at, "
            "starts_at, expires_at, retention_days, collection_method, evidence, "
            "granted_by, status_changed_at, status_changed_by, status_reason) "
            f"SELECT {consent}, {subject}, %(recipient)s, %(purpose)s, "
            "%(version)s, %(scopes)s::jsonb, %(holders)s::jsonb, 'active', "
            "%(starts)s, %(starts)s, %(expires)s, %(retention)s, 'portal', "
            "'{}'::jsonb, 'system:bench', %(starts)s, 'system:bench', '' "
            f"{series}",
            params,
        )
        _execute(
            "INSERT INTO consents_consentscope (consent_id, scope_id) "
            f"SELECT {consent}, %(scope)s {series}",
            params,
        )
        _execute(
            "INSERT INTO consents_consentholder (consent_id, organization_id) "
            f"SELECT {consent}, %(holder)s {series}",
            params,
        )


def one_at_a_time(lo: int, hi: int) -> float:
    """Revoke consents `lo..hi-1` one per transaction; changes per second."""
    from audit.actors import Actor
    from consents.models import Consent
    from consents.services import revoke_consent

    actor = Actor("staff", "bench")
    ids = list(
        Consent.objects.filter(
            pk__in=[_consent_id(n) for n in range(lo, hi)]
        ).values_list("pk", flat=True)
    )
    started = time.perf_counter()
    for consent_id in ids:
        revoke_consent(consent_id=consent_id, actor=actor, reason="bench")
    return len(ids) / (time.perf_counter() - started)


def _consent_id(n: int) -> str:
    import hashlib
    import uuid

    return str(uuid.UUID(hashlib.md5(f"mass-consent-{n}".encode()).hexdigest()))


def in_batches(
    cutoff: datetime, expected: int, batch_size: int, runners: int | None
) -> tuple[float, int]:
    """Expire everything due by `cutoff`; (changes per second, notices written)."""
    from consents.models import Delivery
    from consents.services import expire_due_consents

    before = Delivery.objects.filter(event_type="consent.expired").count()
    started = time.perf_counter()
    expired = expire_due_consents(now=cutoff, batch_size=batch_size, runners=runners)
    elapsed = time.perf_counter() - started
    if expired != expected:
        raise RuntimeError(f"expired {expired}, expected {expected}")
    notices = Delivery.objects.filter(event_type="consent.expired").count() - before
    return expired / elapsed, notices


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    print(harness.machine_line())
    with harness.django_on_scratch_database(args, "cmp_bench_mass", catalog=True):
        from django.conf import settings
        from django.utils import timezone

        runners = args.runners or settings.CMP_MASS_CHANGE_RUNNERS
        print(f"batches of {args.batch_size:,}, {runners} runner(s)")

        from audit.checkpoints import create_checkpoint
        from audit.models import AuditEvent
        from audit.verification import verify_chain

        orgs = set_up_parties()
        now = timezone.now()
        per_round = args.consents + args.sample
        started = time.perf_counter()
        for r in range(args.rounds):
            base = r * per_round
            # Round r's due consents expire r hours after the previous round's.
            seed(base, base + args.consents, now - timedelta(hours=10 - r), orgs)
            seed(base + args.consents, base + per_round, now + timedelta(days=30), orgs)
        _execute("VACUUM (ANALYZE)")
        print(
            f"seeded {args.rounds * per_round:,} consents in "
            f"{time.perf_counter() - started:.1f} s"
        )
        single, batched = [], []
        for r in range(args.rounds):
            base = r * per_round
            single.append(one_at_a_time(base + args.consents, base + per_round))
            # Signed here, so the verification below starts from it.
            head = create_checkpoint().size
            rate, notices = in_batches(
                now - timedelta(hours=10 - r) + timedelta(seconds=1),
                args.consents,
                args.batch_size,
                args.runners,
            )
            batched.append(rate)
            events = AuditEvent.objects.filter(
                sequence__gt=head, action="consent.expired"
            ).count()
            verified = verify_chain(since=head)
            print(
                f"round {r + 1}: one at a time {single[-1]:>7,.0f}/s   batched "
                f"{rate:>7,.0f}/s ({args.consents:,} expired, {events:,} audit "
                f"events, {notices:,} notices; chain after #{head:,} "
                f"{'verifies' if verified.ok else 'FAILS: ' + str(verified.problem)})",
                flush=True,
            )
    rate, base_rate = statistics.median(batched), statistics.median(single)
    print(
        f"median of {args.rounds}: batched {rate:,.0f} changes/s, one at a time "
        f"{base_rate:,.0f}/s, ratio {rate / base_rate:.1f}x"
    )
    print(
        f"target >= {TARGET_RATE:,} changes/s: {harness.verdict(rate >= TARGET_RATE)}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
