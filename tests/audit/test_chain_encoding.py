"""The fast canonical encoder writes the very bytes of the standard library's."""

import json
import random
from datetime import UTC, datetime
from uuid import uuid4

import pytest

from audit import chain

_STDLIB = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)
_ALPHABET = (
    'abcXYZ 09"\\/\b\f\n\r\t\x00\x01\x1f\x7f\u00e9\u2028\u2029\ud55c\uae00'
    "\U0001f600\ufeff<>&'"
)


def _text(rng: random.Random) -> str:
    return "".join(rng.choice(_ALPHABET) for _ in range(rng.randrange(0, 12)))


def _value(rng: random.Random, depth: int = 0):
    kind = rng.randrange(7 if depth < 3 else 4)
    if kind == 0:
        return _text(rng)
    if kind == 1:
        return rng.choice([0, -1, 1, 2**31, -(2**63), 2**63 - 1, 2**64, -(2**70)])
    if kind == 2:
        return rng.choice([True, False, None])
    if kind == 3:
        return rng.randrange(-1000, 1000)
    if kind == 4:
        return [_value(rng, depth + 1) for _ in range(rng.randrange(4))]
    return {_text(rng): _value(rng, depth + 1) for _ in range(rng.randrange(5))}


def test_canonical_json_matches_the_standard_library_byte_for_byte():
    rng = random.Random(5)
    for _ in range(5000):
        document = {"payload": _value(rng), _text(rng): _value(rng)}
        assert chain.canonical_json(document) == _STDLIB.encode(document).encode()


def test_integers_orjson_refuses_fall_back_to_the_standard_library():
    document = {"n": 2**80, "m": [-(2**64)]}
    assert (
        chain.canonical_json(document)
        == b'{"m":[-18446744073709551616],"n":1208925819614629174706176}'
    )


def test_the_fast_path_builds_the_same_document_from_text():
    moment = datetime(2026, 11, 22, 5, 39, 0, 120000, tzinfo=UTC)
    event_id, consent_id = uuid4(), uuid4()
    fields = {
        "sequence": 7,
        "event_id": event_id,
        "occurred_at": moment,
        "actor": "organization:moneylog",
        "action": "consent.checked",
        "subject": "sub_1",
        "recipient": "moneylog",
        "purpose": "spending-analysis",
        "consent_id": consent_id,
        "payload": {"b": [1, None], "a": "한"},
        "prev_hash": "0" * 64,
    }
    as_text = [
        7,
        str(event_id),
        "2026-11-22T05:39:00.120000+00:00",
        *("organization:moneylog", "consent.checked", "sub_1", "moneylog"),
        "spending-analysis",
        str(consent_id),
        '{"a": "한", "b": [1, null]}',
        "0" * 64,
        "f" * 64,
    ]
    expected = chain.event_document(**fields) | {"hash": "f" * 64}
    assert chain.stored_document(as_text) == expected
    as_text[8] = None
    assert chain.stored_document(as_text)["consent_id"] is None


def test_stored_document_reads_every_stored_field_by_its_position():
    values = {name: f"value-of-{name}" for name in chain.STORED_FIELDS}
    values["payload"] = '{"of": "payload"}'

    document = chain.stored_document([values[name] for name in chain.STORED_FIELDS])

    for name in chain.STORED_FIELDS:
        expected = {"of": "payload"} if name == "payload" else values[name]
        assert document[name] == expected, name
    assert set(document) == {*chain.STORED_FIELDS, "v"}


def test_payload_check_names_the_first_unfit_value_by_its_path():
    fine = {"a": [1, "x", None, True, {"b": ("c",)}], "d": {}}
    chain.check_payload(fine)
    cases = [
        ({"a": [1, {"b": 1.5}]}, "payload.a[1].b holds float; use str, int, bool"),
        ({"when": datetime(2026, 1, 1, tzinfo=UTC)}, "payload.when holds datetime"),
        ({"a": {1: "x"}}, "payload.a has a non-string key 1"),
        ([uuid4()], "payload[0] holds UUID"),
    ]
    for value, message in cases:
        with pytest.raises(TypeError) as raised:
            chain.check_payload(value)
        assert str(raised.value).startswith(message), str(raised.value)
