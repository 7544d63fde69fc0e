"""Signed checkpoints: good ones pass; forged, foreign or backward ones do not."""

import base64

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction
from django.test import Client

from audit.actors import SYSTEM
from audit.checkpoints import ChainBrokenError, create_checkpoint
from audit.db_guard import suspend_guards
from audit.integrity import (
    CHECKPOINT_TYP,
    CheckpointError,
    checkpoint_claims,
    read_checkpoint,
)
from audit.models import Checkpoint
from audit.services import record_event
from audit.signing import b64url, b64url_decode, jwks, sign_jws
from audit.tasks import create_checkpoint_task
from audit.verification import verify_chain
from tests.factories import bulk_chain

OTHER_KEY = "other:" + base64.b64encode(b"another-ed25519-seed-of-32-bytes").decode()
ORIGIN = "cmp/audit"


def _append(count: int = 3) -> None:
    with transaction.atomic():
        for n in range(count):
            record_event(action="test.event", actor=SYSTEM, payload={"n": n})


def _signed(size: int, head_hash: str = "a" * 64, origin: str = ORIGIN) -> str:
    claims = checkpoint_claims(
        origin=origin, size=size, head_hash=head_hash, signed_at="2026-01-01"
    )
    return sign_jws(claims, typ=CHECKPOINT_TYP)


def _flip_bit(token: str, part: int) -> str:
    pieces = token.split(".")
    raw = bytearray(b64url_decode(pieces[part]))
    raw[len(raw) // 2] ^= 0x01
    pieces[part] = b64url(bytes(raw))
    return ".".join(pieces)


@pytest.fixture
def checkpoint(db) -> Checkpoint:
    _append()
    return create_checkpoint()


def test_a_good_checkpoint_passes(checkpoint):
    statement = read_checkpoint(checkpoint.jws, jwks(), origin=ORIGIN)
    assert (statement.size, statement.hash) == (3, checkpoint.head_hash)
    assert statement.key_id == "test1"


@pytest.mark.parametrize("part", [1, 2], ids=["claims", "signature"])
def test_a_checkpoint_with_a_flipped_bit_is_rejected(checkpoint, part):
    with pytest.raises(CheckpointError, match="signature"):
        read_checkpoint(_flip_bit(checkpoint.jws, part), jwks())


def test_a_checkpoint_signed_by_another_key_is_rejected(db, settings):
    settings.CMP_SIGNING_KEYS = [OTHER_KEY]
    foreign = _signed(5)
    settings.CMP_SIGNING_KEYS = ["test1:" + OTHER_KEY.partition(":")[2]]
    impostor = _signed(5)  # our key id, someone else's key
    settings.CMP_SIGNING_KEYS = ["test1:dGVzdC1vbmx5LXNpZ25pbmcta2V5LXNlZWQtMzItYnk="]
    with pytest.raises(CheckpointError, match="unknown signing key"):
        read_checkpoint(foreign, jwks())
    with pytest.raises(CheckpointError, match="bad signature"):
        read_checkpoint(impostor, jwks())


def test_a_checkpoint_smaller_than_an_earlier_one_is_rejected(db):
    earlier = read_checkpoint(_signed(10), jwks())
    with pytest.raises(CheckpointError, match="goes backwards"):
        read_checkpoint(_signed(9), jwks(), previous=earlier)
    with pytest.raises(CheckpointError, match="two different heads"):
        read_checkpoint(_signed(10, "b" * 64), jwks(), previous=earlier)
    assert read_checkpoint(_signed(11), jwks(), previous=earlier).size == 11


def test_a_checkpoint_of_another_log_or_type_is_rejected(db):
    with pytest.raises(CheckpointError, match="origin"):
        read_checkpoint(_signed(3, origin="elsewhere/audit"), jwks(), origin=ORIGIN)
    receipt = sign_jws({"size": 3, "hash": "a" * 64})
    with pytest.raises(CheckpointError, match="not a checkpoint"):
        read_checkpoint(receipt, jwks())


def test_verification_rejects_a_stored_checkpoint_that_goes_backwards(checkpoint):
    _append()
    create_checkpoint()
    suspend_guards(connection)
    Checkpoint.objects.create(
        origin=ORIGIN,
        size=2,
        head_hash="c" * 64,
        signed_at=checkpoint.signed_at,
        key_id="test1",
        jws=_signed(2, "c" * 64),
    )
    result = verify_chain()
    assert not result.ok
    assert "goes backwards" in result.problem


def test_verification_rejects_a_tampered_stored_checkpoint(checkpoint):
    suspend_guards(connection)
    Checkpoint.objects.filter(pk=checkpoint.pk).update(jws=_flip_bit(checkpoint.jws, 2))
    result = verify_chain()
    assert not result.ok
    assert "checkpoint: signature" in result.problem


def test_rotation_keeps_old_checkpoints_verifiable(checkpoint, settings):
    settings.CMP_SIGNING_KEYS = [OTHER_KEY, *settings.CMP_SIGNING_KEYS]
    _append()
    rotated = create_checkpoint()
    assert (checkpoint.key_id, rotated.key_id) == ("test1", "other")
    published = {
        key["kid"] for key in Client().get("/.well-known/jwks.json").json()["keys"]
    }
    assert published == {"test1", "other"}
    result = verify_chain()
    assert (result.ok, result.checkpoints_checked) == (True, 2)
    settings.CMP_SIGNING_KEYS = [OTHER_KEY]  # the old key dropped: not allowed
    assert "unknown signing key" in verify_chain().problem


def test_a_checkpoint_is_signed_only_when_the_chain_grew(checkpoint):
    assert create_checkpoint() is None
    _append(2)
    assert create_checkpoint_task() == 5
    assert list(Checkpoint.objects.values_list("size", flat=True)) == [3, 5]


def test_nothing_is_signed_over_a_broken_segment(checkpoint):
    bulk_chain(20)
    suspend_guards(connection)
    with connection.cursor() as cursor:
        cursor.execute("UPDATE audit_auditevent SET actor = 'x' WHERE sequence = 9")
    with pytest.raises(ChainBrokenError, match="sequence 9"):
        create_checkpoint()
    assert Checkpoint.objects.count() == 1


def test_nothing_is_signed_over_a_cut_tail(checkpoint):
    suspend_guards(connection)
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditevent WHERE sequence = 3")
    with pytest.raises(ChainBrokenError, match="events 3-3 are missing"):
        create_checkpoint()


def test_checkpoints_are_append_only(checkpoint):
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        Checkpoint.objects.filter(pk=checkpoint.pk).update(size=99)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        Checkpoint.objects.filter(pk=checkpoint.pk).delete()


def test_the_commands_sign_on_demand_and_report_checkpoints(db, capsys):
    _append(4)
    call_command("checkpoint_audit")
    call_command("checkpoint_audit")
    call_command("verify_audit")
    out = capsys.readouterr().out
    assert "checkpoint signed: size 4" in out
    assert "no new events since the last checkpoint" in out
    assert "1 checkpoints verified, covering events up to 4" in out
