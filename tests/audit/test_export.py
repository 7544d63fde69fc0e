"""Exports: streamed with a signed manifest, verified offline, tamper-evident."""

import json
import subprocess
import sys
import tracemalloc
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction
from django.utils import timezone

from audit.actors import SYSTEM, Actor
from audit.checkpoints import create_checkpoint
from audit.export import (
    COMPLETED,
    EXPORTED,
    export_manifest,
    start_export,
    stream_export,
)
from audit.models import AuditEvent
from audit.selectors import EventFilters
from audit.services import record_event
from audit.signing import jwks
from audit.verify_export import verify_export
from tests.factories import bulk_chain

ROOT = Path(__file__).resolve().parents[2]
# The verifier runs where Django is not even importable.
_OFFLINE = (
    "import sys; sys.modules['django'] = None; "
    "from audit.verify_export import main; sys.exit(main(sys.argv[1:]))"
)


def verify_offline(file: Path, manifest: Path, keyset: Path) -> tuple[int, str]:
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            _OFFLINE,
            str(file),
            str(manifest),
            "--jwks",
            str(keyset),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return done.returncode, done.stdout + done.stderr


def export_to(tmp_path: Path, name: str, **options) -> tuple[Path, Path, Path]:
    file = tmp_path / name
    call_command("export_audit", output=file, **options)
    keyset = tmp_path / "jwks.json"
    keyset.write_text(json.dumps(jwks()))
    return file, tmp_path / f"{name}.manifest.json", keyset


@pytest.fixture
def log(db):
    bulk_chain(400)


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_round_trip_then_one_changed_byte_fails(log, tmp_path, fmt):
    file, manifest, keyset = export_to(tmp_path, f"all.{fmt}", format=fmt)
    code, report = verify_offline(file, manifest, keyset)
    assert code == 0, report
    assert "range export: events 1-400 (400) form an unbroken chain" in report
    assert "events 1-400 are bound to it" in report

    data = bytearray(file.read_bytes())
    position = data.index(b"sub_0042")
    data[position + 4] ^= 0x01  # sub_0042 -> sub_1042
    file.write_bytes(bytes(data))
    code, report = verify_offline(file, manifest, keyset)
    assert code == 1
    assert "file SHA-256" in report
    assert "content does not match its hash" in report
    assert report.rstrip().endswith("NOT VERIFIED")


def test_a_changed_manifest_or_foreign_keys_fail(log, tmp_path, settings):
    file, manifest, keyset = export_to(tmp_path, "all.jsonl")
    document = json.loads(manifest.read_text())
    document["count"] -= 1
    forged = tmp_path / "forged.json"
    forged.write_text(json.dumps(document))
    code, report = verify_offline(file, forged, keyset)
    assert (code, "manifest signature: bad signature" in report) == (1, True)
    settings.CMP_SIGNING_KEYS = [
        "test1:" + "b3RoZXIta2V5LW9mLWEtc3RyYW5nZXItMzItYnl0ZXM="
    ]
    keyset.write_text(json.dumps(jwks()))
    assert verify_offline(file, manifest, keyset)[0] == 1


def test_a_removed_line_fails_even_with_a_matching_file_hash(log, tmp_path):
    """Only the chain and counts speak here: the file hash is made to match."""
    file, manifest_path, _ = export_to(tmp_path, "all.jsonl")
    lines = file.read_bytes().splitlines(keepends=True)
    file.write_bytes(b"".join(lines[:100] + lines[101:]))
    manifest = json.loads(manifest_path.read_text())
    report = verify_export(file, manifest, jwks())
    assert not report.ok
    assert any("event 101 is missing" in line for line in report.lines)


def test_a_filtered_export_verifies_its_own_content_and_says_so(log, tmp_path):
    file, manifest, keyset = export_to(
        tmp_path, "f.csv", format="csv", recipient="org-3", action="consent.checked"
    )
    code, report = verify_offline(file, manifest, keyset)
    assert code == 0, report
    assert "filtered export (recipient=org-3, action=consent.checked)" in report
    assert "completeness cannot be checked here" in report
    count = json.loads(manifest.read_text())["count"]
    assert (
        count
        == AuditEvent.objects.filter(
            recipient="org-3", action="consent.checked", sequence__lte=400
        ).count()
    )
    assert count > 0


def test_a_past_window_notes_events_after_its_checkpoint(db, tmp_path):
    bulk_chain(100)
    create_checkpoint()
    bulk_chain(100)  # one second apart, ending now
    until = (timezone.now() - timedelta(seconds=50)).isoformat()
    file, manifest, keyset = export_to(tmp_path, "w.jsonl", until=until)
    code, report = verify_offline(file, manifest, keyset)
    assert code == 0, report
    last = json.loads(manifest.read_text())["range"]["last_sequence"]
    assert 140 < last < 160
    assert f"events 101-{last} come after the last checkpoint" in report


def test_every_export_is_an_audit_event_with_its_manifest(log):
    officer = Actor("staff", "officer")
    export = start_export(
        filters=EventFilters(subject="sub_0007"), fmt="jsonl", actor=officer
    )
    started = AuditEvent.objects.get(action=EXPORTED)
    assert started.actor == "staff:officer"
    assert started.payload["filters"]["subject"] == "sub_0007"
    assert not AuditEvent.objects.filter(action=COMPLETED).exists()
    assert export_manifest(export.export_id) is None

    body = b"".join(stream_export(export))
    completed = AuditEvent.objects.get(action=COMPLETED)
    assert completed.payload["count"] == body.count(b"\n") == 4
    assert export_manifest(export.export_id) == export.manifest
    assert export.manifest["exported_by"] == "staff:officer"
    assert export.manifest["range"] == {"first_sequence": 1, "last_sequence": 400}


def _export_peak(events: int) -> tuple[int, int]:
    """Peak traced memory while streaming an export of the whole log, and its size."""
    bulk_chain(events)
    export = start_export(filters=EventFilters(), fmt="jsonl", actor=SYSTEM)
    tracemalloc.start()
    size = 0
    for chunk in stream_export(export):
        size += len(chunk)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak, size


def test_an_export_streams_in_flat_memory(db):
    small_peak, small_size = _export_peak(6_000)
    large_peak, large_size = _export_peak(24_000)  # a log five times as long
    assert large_size > 4 * small_size
    assert large_peak < 1.3 * small_peak, (small_peak, large_peak)
    assert large_peak < large_size / 2


def test_an_empty_window_exports_nothing_and_verifies(db, tmp_path):
    with transaction.atomic():
        record_event(action="test.event", actor=SYSTEM)
    file, manifest, keyset = export_to(tmp_path, "e.jsonl", until="2001-01-01")
    assert file.read_bytes() == b""
    assert verify_offline(file, manifest, keyset)[0] == 0


def test_the_command_refuses_bad_filters(db, tmp_path):
    with pytest.raises(CommandError, match="since"):
        call_command("export_audit", output=tmp_path / "x.jsonl", since="soon")
    assert not (tmp_path / "x.jsonl").exists()
