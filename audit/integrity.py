"""Checking chained events and signed checkpoints, wherever they come from.

`verify_audit` feeds this the database; `audit.verify_export` feeds it an export
file on a regulator's machine. So it imports nothing from Django: only the
standard library, `cryptography` (and orjson when present, for speed).

A checkpoint is a compact JWS (EdDSA, a key from the published JWKS) over
`{"v", "origin", "size", "hash", "signed_at"}`: the shape of an RFC 6962 signed tree
head or a C2SP checkpoint, except that `hash` is the head of a hash chain (the
hash of event number `size`), not a Merkle root.
"""

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from audit.chain import GENESIS_HASH, document_hash
from cmp_common.wire.jws import SignatureError, verify_compact

CHECKPOINT_TYP = "cmp-audit-checkpoint+jws"
CHECKPOINT_VERSION = 1
_HEX64 = re.compile(r"[0-9a-f]{64}")


class CheckpointError(Exception):
    """A checkpoint that is forged, foreign, malformed or goes backwards."""


@dataclass(frozen=True)
class CheckpointStatement:
    origin: str
    size: int
    hash: str
    signed_at: str
    key_id: str


def checkpoint_claims(
    *, origin: str, size: int, head_hash: str, signed_at: str
) -> dict[str, Any]:
    return {
        "v": CHECKPOINT_VERSION,
        "origin": origin,
        "size": size,
        "hash": head_hash,
        "signed_at": signed_at,
    }


def read_checkpoint(
    token: str,
    keyset: Mapping[str, Any],
    *,
    origin: str | None = None,
    previous: CheckpointStatement | None = None,
) -> CheckpointStatement:
    """A checkpoint's statement, once its signature, shape and order hold.

    `previous` is the checkpoint signed before this one: a smaller size, or the
    same size with another hash, is refused.
    """
    try:
        header, claims = verify_compact(token, keyset)
    except SignatureError as exc:
        raise CheckpointError(f"signature: {exc}") from exc
    if header.get("typ") != CHECKPOINT_TYP:
        raise CheckpointError("not a checkpoint")
    size, head_hash = claims.get("size"), claims.get("hash")
    if (
        claims.get("v") != CHECKPOINT_VERSION
        or type(size) is not int
        or size < 1
        or not isinstance(head_hash, str)
        or not _HEX64.fullmatch(head_hash)
        or not isinstance(claims.get("origin"), str)
        or not isinstance(claims.get("signed_at"), str)
    ):
        raise CheckpointError("malformed claims")
    statement = CheckpointStatement(
        claims["origin"], size, head_hash, claims["signed_at"], header["kid"]
    )
    if origin is not None and statement.origin != origin:
        raise CheckpointError(f"origin {statement.origin!r} is not {origin!r}")
    if previous is not None:
        if statement.size < previous.size:
            raise CheckpointError(
                f"size {statement.size} goes backwards (an earlier checkpoint "
                f"signed size {previous.size})"
            )
        if statement.size == previous.size and statement.hash != previous.hash:
            raise CheckpointError(f"two different heads signed for size {size}")
    return statement


@dataclass(frozen=True)
class ChainVerification:
    """The outcome of a walk: how far the chain held, and the first problem."""

    ok: bool
    checked: int
    head_sequence: int
    head_hash: str
    first_bad_sequence: int | None = None
    problem: str = ""
    checkpoints_checked: int = 0
    # Events up to here are bound by a checkpoint that matched.
    covered_sequence: int = 0
    # An incremental walk started after this event, at a checkpoint it trusted
    # because an earlier verification had verified the chain up to it; 0: full.
    since_sequence: int = 0

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


class _Walk:
    """State of one pass along the chain; `failure` builds the answer."""

    def __init__(self, first_sequence: int, prev_hash: str) -> None:
        self.first = first_sequence
        self.expected, self.prev_hash = first_sequence, prev_hash
        self.before_prev_hash: str | None = None
        self.checkpoints_checked = 0
        self.covered = first_sequence - 1

    def result(self, bad: int | None = None, problem: str = "") -> ChainVerification:
        last = self.expected - 1
        return ChainVerification(
            ok=not problem,
            checked=last - self.first + 1,
            head_sequence=last,
            head_hash=self.prev_hash,
            first_bad_sequence=bad,
            problem=problem,
            checkpoints_checked=self.checkpoints_checked,
            covered_sequence=self.covered,
        )

    def check(
        self, statement: CheckpointStatement, stored: str
    ) -> tuple[int, str] | None:
        """Compare a checkpoint signed at this event with the event's hash.

        A mismatch is reported after one more event: an insertion at this very
        position is named more precisely by the next link.
        """
        self.checkpoints_checked += 1
        if statement.size == self.expected and statement.hash == stored:
            self.covered = self.expected
            return None
        return (
            self.covered + 1,
            f"the checkpoint signed at size {statement.size} names another head: "
            f"events {self.covered + 1}-{statement.size} were rewritten",
        )

    def link_problem(self, document: dict[str, Any]) -> tuple[int, str] | None:
        """Why this event does not follow the last good one, if it does not."""
        sequence, expected = document["sequence"], self.expected
        if sequence != expected:
            if type(sequence) is int and sequence > expected:
                return expected, f"event {expected} is missing (next is {sequence})"
            return expected, f"event {sequence} is out of order (expected {expected})"
        if document["prev_hash"] != self.prev_hash:
            if document["prev_hash"] == self.before_prev_hash:
                # Two events name the same predecessor: the earlier was slipped in.
                return expected - 1, (
                    f"event {expected - 1} was inserted: it and event {expected} "
                    f"both follow event {expected - 2}"
                )
            return expected, "prev_hash does not match the previous event's hash"
        return None


def walk_chain(
    documents: Iterable[dict[str, Any]],
    *,
    first_sequence: int = 1,
    prev_hash: str = GENESIS_HASH,
    checkpoints: Iterable[CheckpointStatement] = (),
) -> ChainVerification:
    """Walk events in order; name the first event that breaks the chain.

    Each document is an event's hashed document plus its stored `hash`, and
    optionally the `checkpoint` signed at its sequence number (both popped here).
    Checkpoints come that way, inline, from the database, and as `checkpoints`
    (a few, in signing order) from an export's manifest.

    A deleted event shows as a gap, a modified one as a hash that does not match
    its content, two swapped ones as sequence numbers their hashes do not cover,
    an inserted one as two events naming the same predecessor, a history
    rewritten with fresh hashes as a head that a checkpoint did not sign, and a
    cut tail as a checkpoint larger than the chain.
    """
    walk = _Walk(first_sequence, prev_hash)
    try:
        listed = {s.size: s for s in _checkpoints_from(checkpoints, first_sequence)}
        mismatch: tuple[int, str] | None = None
        for document in documents:
            inline = document.pop("checkpoint", None)
            stored = document.pop("hash")
            problem = walk.link_problem(document)
            if problem is None and mismatch is not None:
                return walk.result(*mismatch)
            if problem is None and document_hash(document) != stored:
                problem = (walk.expected, "content does not match its hash")
            if problem is not None:
                return walk.result(*problem)
            for statement in (inline, listed.pop(walk.expected, None)):
                if statement is not None and mismatch is None:
                    mismatch = walk.check(statement, stored)
            walk.before_prev_hash = document["prev_hash"]
            walk.expected, walk.prev_hash = walk.expected + 1, stored
        if mismatch is not None:
            return walk.result(*mismatch)
        if listed:
            # The largest checkpoint beyond the end shows the whole of the cut.
            signed = max(listed)
            return walk.result(
                walk.expected,
                f"events {walk.expected}-{signed} are missing: a checkpoint "
                f"signed size {signed}",
            )
    except CheckpointError as exc:
        return walk.result(None, f"checkpoint: {exc}")
    return walk.result()


def _checkpoints_from(
    checkpoints: Iterable[CheckpointStatement], first_sequence: int
) -> Iterator[CheckpointStatement]:
    """Checkpoints that bind this walk, in size order."""
    last: CheckpointStatement | None = None
    for statement in checkpoints:
        if statement.size < first_sequence:
            continue
        if last is not None and statement.size == last.size:
            continue
        if last is not None and statement.size < last.size:
            raise CheckpointError(f"size {statement.size} goes backwards")
        last = statement
        yield statement
