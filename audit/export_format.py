"""The export file and its manifest, as written by the platform and read back by
`audit.verify_export`. Imports nothing from Django.

A JSON Lines export holds one event per line: its hashed document (see
`audit.chain.event_document`) plus `hash`, in canonical JSON. A CSV export holds
the same fields as columns, the payload as canonical JSON text. The manifest is a
JSON object whose `signature` is a detached compact JWS over the canonical JSON
of everything else in it.
"""

import csv
import io
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from audit.chain import (
    FORMAT_VERSION,
    STORED_FIELDS,
    canonical_json,
    parse_json,
    stored_document,
)

FORMATS = ("jsonl", "csv")
CONTENT_TYPES = {"jsonl": "application/jsonl", "csv": "text/csv; charset=utf-8"}
CSV_COLUMNS = ("v", *STORED_FIELDS)
MANIFEST_TYP = "cmp-audit-export-manifest+jws"
MANIFEST_TYPE = "cmp.audit.export-manifest"
MANIFEST_VERSION = 1
RANGE, FILTERED = "range", "filtered"


def encode_rows(documents: Iterable[dict[str, Any]], fmt: str) -> Iterator[bytes]:
    """The file's bytes, a batch of rows at a time (about 256 KiB each)."""
    if fmt == "jsonl":
        yield from _chunks(canonical_json(document) + b"\n" for document in documents)
        return
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for document in documents:
        row = dict(document, payload=canonical_json(document["payload"]).decode())
        writer.writerow("" if row[name] is None else row[name] for name in CSV_COLUMNS)
        if buffer.tell() >= _CHUNK:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode("utf-8")


_CHUNK = 256 * 1024


def _chunks(lines: Iterable[bytes]) -> Iterator[bytes]:
    batch: list[bytes] = []
    size = 0
    for line in lines:
        batch.append(line)
        size += len(line)
        if size >= _CHUNK:
            yield b"".join(batch)
            batch, size = [], 0
    yield b"".join(batch)


def read_documents(path: Path, fmt: str) -> Iterator[dict[str, Any]]:
    """Events back from an export file, one at a time, as `encode_rows` wrote them.

    Raises ValueError naming the line of a row that cannot be read.
    """
    if fmt == "jsonl":
        with path.open("rb") as file:
            for number, line in enumerate(file, start=1):
                try:
                    document = parse_json(line)
                except ValueError as exc:
                    raise ValueError(f"line {number} is not JSON") from exc
                if not isinstance(document, dict) or "hash" not in document:
                    raise ValueError(f"line {number} is not an event")
                yield document
        return
    with path.open(encoding="utf-8", newline="") as file:
        reader = csv.reader(file)
        if tuple(next(reader, ())) != CSV_COLUMNS:
            raise ValueError("line 1 is not the expected CSV header")
        for number, row in enumerate(reader, start=2):
            try:
                yield _csv_document(row)
            except ValueError as exc:
                raise ValueError(f"line {number}: {exc}") from exc


def _csv_document(row: list[str]) -> dict[str, Any]:
    if len(row) != len(CSV_COLUMNS):
        raise ValueError("wrong number of columns")
    if row[0] != str(FORMAT_VERSION):
        raise ValueError(f"unknown format version {row[0]!r}")
    return stored_document([int(row[1]), *row[2:]])


def manifest_signing_input(manifest: dict[str, Any]) -> bytes:
    """What the manifest's signature covers: all of it but the signature."""
    return canonical_json({k: v for k, v in manifest.items() if k != "signature"})
