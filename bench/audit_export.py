"""Benchmark: the audit trail's append rate, and export and verification at scale.

What it measures, on PostgreSQL, in a scratch database `cmp_auditbench_<pid>`
that is dropped at the end:

1. Append rate. Chained appends (`record_event`, one committed transaction each)
   with 1 and 8 concurrent connections, against plain committed single-row
   INSERTs into an unchained table with as many connections (the baseline; the
   same phases as `bench/audit_append.py`).
2. Export and verification at 100,000 and 1,000,000 events. The log is generated
   first (chained events with realistic payloads, mostly checks, written with
   COPY) and a checkpoint is signed over it. Then, each in a fresh process:
   - `export`: `audit.export` streams the whole log as JSON Lines to a file,
     with its signed manifest (what `manage.py export_audit` does);
   - `verify_audit`: `audit.verification.verify_chain` recomputes every hash and
     checks the checkpoint, reading from the database;
   - `verify_export`: `audit.verify_export` checks the file offline, without the
     database;
   and, as baselines from the same run, `COPY (SELECT … ORDER BY sequence) TO
   STDOUT` of the same rows (the database's own read rate) and an idle process
   that only starts Django (the memory every process pays before any work).
   Peak memory is the process's high-water resident set (`VmHWM`).

Targets: export and verification above 100,000 events/s; peak memory flat from
100,000 to 1,000,000 events.

Run from the project root:

    .venv/bin/python bench/audit_export.py [--seconds 5] [--sizes 100000,1000000]
        [--database-url postgres://postgres@127.0.0.1:5432]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a file
from audit.chain import STORED_FIELDS
from bench import harness
from bench.audit_append import SETTINGS, measure_appends, print_results, start_django
from bench.scratch import scratch_database

WRITERS = (1, 8)
PHASES = ("idle", "copy", "export", "verify_audit", "verify_export")
_COPY_COLUMNS = STORED_FIELDS


# --- The log ------------------------------------------------------------------------


def _content(n: int, moment: datetime) -> dict:
    """Event n of a realistic mix: 8 in 10 checks, then grants, revocations,
    transfers, among 50 recipients, 20 purposes and 200,000 people."""
    recipient, purpose = f"org-{n % 50:02d}", f"purpose-{n % 20:02d}"
    kind = n % 20
    action, payload = (
        "consent.checked",
        {
            "allowed": n % 7 != 0,
            "reason": None if n % 7 else "revoked",
            "caller": recipient,
            "counterparty": f"holder-{n % 9}",
            "holder": f"holder-{n % 9}",
            "scopes": ["bank.deposit.transactions", "card.approvals"],
            "missing_scopes": [],
            "data_from": None,
            "data_to": None,
        },
    )
    if kind == 16 or kind == 17:
        action, payload = (
            "consent.granted",
            {
                "collection_method": "portal",
                "expires_at": (moment + timedelta(days=365)).isoformat(),
                "holders": [f"holder-{n % 9}"],
                "purpose_version": 1,
                "scopes": ["bank.deposit.transactions"],
            },
        )
    elif kind == 18:
        action, payload = "consent.revoked", {"from": "active", "to": "revoked"}
    elif kind == 19:
        action, payload = "transfer.recorded", {"records": n % 500, "direction": "in"}
    return {
        "event_id": uuid.UUID(int=n + 1, version=4),
        "occurred_at": moment,
        "actor": f"organization:{recipient}",
        "action": action,
        "subject": f"sub_{n % 200_000:024x}",
        "recipient": recipient,
        "purpose": purpose,
        "consent_id": uuid.UUID(int=(n % 300_000) + 1, version=4),
        "payload": payload,
    }


def grow_log(count: int) -> None:
    """Append `count` chained events after the head, with COPY."""
    from django.db import connection

    from audit.chain import GENESIS_HASH, event_hash
    from audit.selectors import chain_head

    sequence, prev_hash = chain_head()
    prev_hash = prev_hash or GENESIS_HASH
    start = datetime.now(UTC) - timedelta(milliseconds=10 * count)
    columns = ", ".join(_COPY_COLUMNS)
    with connection.cursor() as cursor:
        raw = cursor.cursor
        with raw.copy(f"COPY audit_auditevent ({columns}) FROM STDIN") as copy:
            for n in range(sequence, sequence + count):
                fields = {
                    "sequence": n + 1,
                    **_content(n, start + timedelta(milliseconds=10 * (n - sequence))),
                    "prev_hash": prev_hash,
                }
                prev_hash = event_hash(**fields)
                row = dict(
                    fields, payload=json.dumps(fields["payload"]), hash=prev_hash
                )
                copy.write_row([row[name] for name in _COPY_COLUMNS])
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE audit_auditevent")


# --- One measured phase, in a process of its own ------------------------------------


def run_phase(phase: str, workdir: Path) -> dict:
    """Runs inside the child: do the phase, return its figures."""
    from django.db import connection

    from audit.models import AuditEvent

    events = AuditEvent.objects.count()
    export_file = workdir / "export.jsonl"
    manifest_file = workdir / "export.jsonl.manifest.json"
    start = time.perf_counter()
    result: dict = {"events": events}
    if phase == "copy":
        size = 0
        with connection.cursor() as cursor:
            query = (
                f"COPY (SELECT {', '.join(_COPY_COLUMNS)} FROM audit_auditevent "
                "ORDER BY sequence) TO STDOUT"
            )
            with cursor.cursor.copy(query) as copy:
                for block in copy:
                    size += len(block)
        result["bytes"] = size
    elif phase == "export":
        from audit.actors import Actor
        from audit.export import start_export, stream_export
        from audit.selectors import EventFilters

        export = start_export(
            filters=EventFilters(), fmt="jsonl", actor=Actor("staff", "bench")
        )
        with export_file.open("wb") as file:
            for chunk in stream_export(export):
                file.write(chunk)
        manifest_file.write_text(json.dumps(export.manifest))
        result.update(events=export.manifest["count"], bytes=export_file.stat().st_size)
        result["ok"] = bool(export.manifest["checkpoints"])
    elif phase == "verify_audit":
        from audit.verification import verify_chain

        verified = verify_chain()
        result.update(events=verified.checked, ok=verified.ok)
    elif phase == "verify_export":
        from audit.signing import jwks
        from audit.verify_export import verify_export

        manifest = json.loads(manifest_file.read_text())
        report = verify_export(export_file, manifest, jwks())
        result.update(events=manifest["count"], ok=report.ok)
    result["seconds"] = time.perf_counter() - start
    result["peak_mib"] = peak_resident_mib()
    return result


def peak_resident_mib() -> float:
    """This process's high-water resident set since it started (Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def measure_phase(phase: str, database_url: str, workdir: Path) -> dict:
    """Run one phase in a fresh process, so its peak memory is its own."""
    done = subprocess.run(
        [sys.executable, __file__, "--phase", phase, "--workdir", str(workdir)],
        cwd=harness.PROJECT_ROOT,
        env=dict(os.environ, DATABASE_URL=database_url),
        stdout=subprocess.PIPE,
        check=True,
    )
    return json.loads(done.stdout)


# --- Report -------------------------------------------------------------------------


def print_scale(rows: list[tuple[int, str, dict]]) -> None:
    baseline = {size: f for size, phase, f in rows if phase == "copy"}
    header = (
        f"{'events':>9}  {'phase':<14}{'seconds':>9}{'events/s':>11}"
        f"{'vs COPY':>9}{'peak MiB':>10}{'MiB out':>9}  ok"
    )
    print(header)
    print("-" * len(header))
    for size, phase, f in rows:
        figures = " " * 20  # the idle process only shows its memory
        if phase != "idle":
            rate, base = f["events"] / f["seconds"], baseline[size]
            ratio = rate / (base["events"] / base["seconds"])
            figures = f"{rate:>11.0f}{ratio:>8.2f}x"
        out = f"{f['bytes'] / 2**20:.0f}" if "bytes" in f else ""
        print(
            f"{size:>9}  {phase:<14}{f['seconds']:>9.2f}{figures}"
            f"{f['peak_mib']:>10.1f}{out:>9}  {f.get('ok', '')}"
        )
    print()


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = harness.argument_parser(__doc__)
    parser.add_argument("--seconds", type=float, default=5.0, help="per append phase")
    parser.add_argument("--events", type=int, default=50_000, help="per append phase")
    parser.add_argument(
        "--sizes", default="100000,1000000", help="log sizes for export and verify"
    )
    parser.add_argument("--phase", choices=PHASES, help=argparse.SUPPRESS)
    parser.add_argument("--workdir", type=Path, help=argparse.SUPPRESS)
    return harness.parse_args(parser, argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.phase:  # a child: the database is already set up
        harness.setup_django(SETTINGS)
        print(json.dumps(run_phase(args.phase, args.workdir)))
        return 0
    sizes = [int(size) for size in args.sizes.split(",")]
    name = f"cmp_auditbench_{os.getpid()}"
    ok = True
    with (
        scratch_database(args.database_url, name) as database_url,
        tempfile.TemporaryDirectory(prefix="cmp-auditbench-") as workdir,
    ):
        try:
            start_django(database_url)
            results = measure_appends(database_url, WRITERS, args.seconds, args.events)
            print(f"Append: at most {args.seconds:g} s or {args.events} events each")
            print_results(results)
            ok = run_scale(sizes, database_url, Path(workdir))
        finally:
            harness.close_django_connections()
    return 0 if ok else 1


def run_scale(sizes: list[int], database_url: str, workdir: Path) -> bool:
    from audit.checkpoints import create_checkpoint
    from audit.models import AuditEvent

    rows: list[tuple[int, str, dict]] = []
    for size in sizes:
        missing = size - AuditEvent.objects.count()
        started = time.perf_counter()
        grow_log(missing)
        create_checkpoint()
        harness.close_django_connections()
        print(
            f"Generated {missing} events to reach {size} "
            f"({time.perf_counter() - started:.0f} s, COPY, one checkpoint)"
        )
        for phase in PHASES:
            rows.append((size, phase, measure_phase(phase, database_url, workdir)))
    print()
    print_scale(rows)
    return all(f.get("ok", True) for _, _, f in rows)


if __name__ == "__main__":
    sys.exit(main())
