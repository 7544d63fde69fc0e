"""Verify an audit export on any machine, with no database and no Django.

    python -m audit.verify_export FILE MANIFEST --jwks JWKS

JWKS is the platform's published key set (`/.well-known/jwks.json`), obtained
independently of the export. Needs Python 3.11 and `cryptography` (orjson makes
it faster when installed). Exit status 0 when the export verifies, 1 when not.

A range export (no field filters) is checked as a chain: every event's hash, every
link, no gap, and the checkpoint in the manifest, so its events are bound to a
head the platform signed. A filtered export can only be checked event by event
and against the manifest's signature; the report says so.
"""

import argparse
import hashlib
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from audit.chain import GENESIS_HASH, document_hash
from audit.export_format import (
    FORMATS,
    MANIFEST_TYP,
    MANIFEST_TYPE,
    RANGE,
    manifest_signing_input,
    read_documents,
)
from audit.integrity import CheckpointError, read_checkpoint, walk_chain
from cmp_common.wire.jws import SignatureError, verify_compact


@dataclass
class Report:
    ok: bool = True
    lines: list[str] = field(default_factory=list)

    def fail(self, message: str) -> "Report":
        self.ok = False
        self.lines.append(f"FAIL  {message}")
        return self

    def good(self, message: str) -> None:
        self.lines.append(f"ok    {message}")

    def note(self, message: str) -> None:
        self.lines.append(f"note  {message}")


def file_sha256(path: Path) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    with path.open("rb") as file:
        while chunk := file.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def verify_export(file: Path, manifest: dict[str, Any], keyset: dict) -> Report:
    """Everything a regulator can check from the file, manifest and public keys."""
    report = Report()
    try:
        header, _ = verify_compact(
            manifest.get("signature", ""),
            keyset,
            detached=manifest_signing_input(manifest),
        )
    except SignatureError as exc:
        return report.fail(f"manifest signature: {exc}")
    if header.get("typ") != MANIFEST_TYP or manifest.get("type") != MANIFEST_TYPE:
        return report.fail("the signed document is not an export manifest")
    report.good(
        f"manifest signed by key {header['kid']!r} of {manifest['origin']!r}, "
        f"export {manifest['export_id']} by {manifest['exported_by']} "
        f"at {manifest['exported_at']}"
    )
    sha256, size = file_sha256(file)
    if (sha256, size) != (manifest["file"]["sha256"], manifest["file"]["bytes"]):
        report.fail(
            f"file SHA-256 {sha256} ({size} bytes) is not the manifest's "
            f"{manifest['file']['sha256']} ({manifest['file']['bytes']} bytes)"
        )
    else:
        report.good(f"file SHA-256 {sha256} ({size} bytes) matches the manifest")
    if manifest["format"] not in FORMATS:
        return report.fail(f"unknown format {manifest['format']!r}")
    try:
        if manifest["kind"] == RANGE:
            _verify_range(file, manifest, keyset, report)
        else:
            _verify_filtered(file, manifest, report)
    except ValueError as exc:
        report.fail(f"unreadable export: {exc}")
    return report


def _counted(documents: Iterator[dict], tally: dict) -> Iterator[dict]:
    for document in documents:
        tally["count"] += 1
        tally["last"] = {"sequence": document["sequence"], "hash": document["hash"]}
        yield document


def _verify_range(file: Path, manifest: dict, keyset: dict, report: Report) -> None:
    span = manifest["range"]
    first, last = span["first_sequence"], span["last_sequence"]
    try:
        checkpoints = [
            read_checkpoint(item["jws"], keyset, origin=manifest["origin"])
            for item in manifest["checkpoints"]
        ]
    except CheckpointError as exc:
        report.fail(f"checkpoint in the manifest: {exc}")
        return
    tally: dict[str, Any] = {"count": 0, "last": None}
    prev_hash = (manifest["first"] or {}).get("prev_hash", GENESIS_HASH)
    result = walk_chain(
        _counted(read_documents(file, manifest["format"]), tally),
        first_sequence=first,
        prev_hash=prev_hash,
        checkpoints=checkpoints,
    )
    if not result.ok:
        report.fail(
            f"chain broken at sequence {result.first_bad_sequence}: {result.problem}"
        )
        return
    expected = max(last - first + 1, 0)
    if tally["count"] != expected or tally["count"] != manifest["count"]:
        report.fail(
            f"{tally['count']} events in the file; the manifest says "
            f"{manifest['count']} for sequences {first}-{last}"
        )
        return
    if tally["last"] != manifest["last"]:
        report.fail("the last event is not the one the manifest names")
        return
    report.good(
        f"range export: events {first}-{last} ({expected}) form an unbroken chain"
    )
    for statement in checkpoints:
        report.good(
            f"checkpoint signed at {statement.signed_at} by key "
            f"{statement.key_id!r}: size {statement.size}, head {statement.hash} — "
            f"events {first}-{statement.size} are bound to it"
        )
    covered = result.covered_sequence
    if covered < last:
        report.note(
            f"events {max(covered + 1, first)}-{last} come after the last "
            "checkpoint in the range: the manifest's signature covers them, "
            "no checkpoint does yet"
        )


def _verify_filtered(file: Path, manifest: dict, report: Report) -> None:
    span, filters = manifest["range"], manifest["filters"]
    wanted = {
        name: value
        for name, value in filters.items()
        if name in ("subject", "recipient", "purpose", "action") and value
    }
    count, previous, last = 0, span["first_sequence"] - 1, None
    for document in read_documents(file, manifest["format"]):
        count += 1
        stored = document.pop("hash")
        sequence = document["sequence"]
        if document_hash(document) != stored:
            report.fail(f"event {sequence}: content does not match its hash")
            return
        if not previous < sequence <= span["last_sequence"]:
            report.fail(f"event {sequence} is out of order or outside the range")
            return
        if any(document.get(name) != value for name, value in wanted.items()):
            report.fail(f"event {sequence} does not match the export's filters")
            return
        previous, last = sequence, {"sequence": sequence, "hash": stored}
    if count != manifest["count"] or last != manifest["last"]:
        report.fail(
            f"{count} events in the file, ending at {last}; the manifest says "
            f"{manifest['count']}, ending at {manifest['last']}"
        )
        return
    report.good(
        f"filtered export ({', '.join(f'{k}={v}' for k, v in wanted.items())}): "
        f"{count} events, each matching its own hash and the filters, in order"
    )
    report.note(
        "a filtered export proves its own content and the platform's signature "
        "only: the events between these, and the checkpoints, are not in the "
        "file, so completeness cannot be checked here (a range export can)"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m audit.verify_export", description=__doc__.splitlines()[0]
    )
    parser.add_argument("file", type=Path, help="the export (.jsonl or .csv)")
    parser.add_argument("manifest", type=Path, help="the export's signed manifest")
    parser.add_argument(
        "--jwks", type=Path, required=True, help="the platform's published JWKS"
    )
    args = parser.parse_args(argv)
    try:
        manifest = json.loads(args.manifest.read_text(encoding="utf-8"))
        keyset = json.loads(args.jwks.read_text(encoding="utf-8"))
        report = verify_export(args.file, manifest, keyset)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        report = Report().fail(f"cannot read the inputs: {exc!r}")
    print("\n".join(report.lines))
    print("VERIFIED" if report.ok else "NOT VERIFIED")
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
