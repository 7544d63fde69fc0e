"""The check's hand-written input and output paths agree with the serializers
that define the contract (and that the schema is generated from)."""

import uuid
from datetime import UTC, datetime

import pytest
from django.utils import timezone
from rest_framework.exceptions import ValidationError

from api.organizations import checks as s
from consents.decisions import ConsentDecision, Reason

BODIES = [
    {"subject_ref": "c-1", "purpose": "spending-analysis", "scopes": ["bank.deposit"]},
    {
        "subject_ref": "c-1",
        "purpose": "spending-analysis",
        "scopes": ["bank.deposit", "card.bills", "bank.deposit"],
        "counterparty": "hanbit-bank",
    },
    # These take the serializer's own path; the answers must not differ.
    {"subject_ref": " c-1 ", "purpose": "p", "scopes": ["a"]},
    {"subject_ref": "고객-1", "purpose": "p", "scopes": ["a"]},
    {"subject_ref": 17, "purpose": "p", "scopes": ["a"]},
    {"subject_ref": "c", "purpose": "p", "scopes": ["a"], "data_from": "2026-01-01"},
    {"subject_ref": "c", "purpose": "p", "scopes": ["a"], "counterparty": None},
    {"subject_ref": "c", "purpose": "p", "scopes": []},
    {"subject_ref": "c", "purpose": "p", "scopes": "a"},
    {"subject_ref": "c", "purpose": "p", "scopes": ["a"] * 101},
    {"subject_ref": "c" * 129, "purpose": "p", "scopes": ["a"]},
    {"subject_ref": "c\x00", "purpose": "p", "scopes": ["a"]},
    {"subject_ref": "", "purpose": "p", "scopes": ["a"]},
    {"subject_ref": "c", "purpose": "p", "scopes": ["a"], "status": "active"},
    {"purpose": "p", "scopes": ["a"]},
    ["not", "an", "object"],
    None,
]


def _outcome(validate, body):
    try:
        return "ok", validate(body)
    except ValidationError as error:
        return "invalid", error.detail


@pytest.mark.parametrize("body", BODIES)
def test_check_input_matches_the_serializer(body):
    expected = _outcome(s.CheckInputSerializer().run_validation, body)
    assert _outcome(s.valid_check_input, body) == expected


@pytest.mark.parametrize("zone", ["Asia/Seoul", "UTC"])
@pytest.mark.parametrize(
    "decision, token",
    [
        (
            ConsentDecision(
                True,
                None,
                uuid.uuid4(),
                datetime(2027, 3, 1, 12, 30, 0, 120000, tzinfo=UTC),
                [],
                uuid.uuid4(),
            ),
            "header.payload.signature",
        ),
        (
            ConsentDecision(
                False,
                Reason.SCOPE_NOT_GRANTED,
                uuid.uuid4(),
                datetime(2027, 3, 1, tzinfo=UTC),
                ["card.bills"],
                uuid.uuid4(),
            ),
            None,
        ),
        (
            ConsentDecision(False, Reason.UNKNOWN_SUBJECT, decision_id=uuid.uuid4()),
            None,
        ),
    ],
)
def test_check_answer_matches_the_serializer(decision, token, zone):
    with timezone.override(zone):
        expected = s.CheckOutputSerializer().to_representation(
            {
                "allowed": decision.allowed,
                "reason": decision.reason.value if decision.reason else None,
                "consent_id": decision.consent_id,
                "expires_at": decision.expires_at,
                "missing_scopes": decision.missing_scopes,
                "decision_id": decision.decision_id,
                "transfer_token": token,
            }
        )
        assert s.check_answer(decision, token) == expected
