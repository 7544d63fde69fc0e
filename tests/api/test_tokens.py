"""Transfer tokens and receipts verify offline against the JWKS, and only then."""

import base64
import json
from datetime import datetime

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.test import Client
from django.utils import timezone

from audit.signing import SignatureError, b64url, public_jwk, verify_jws


@pytest.fixture
def allowed(moneylog):
    api = moneylog.api()
    api.post(
        "/api/v1/consents/",
        {
            "subject_ref": "ml-1",
            "purpose": "spending-analysis",
            "scopes": ["bank.deposit"],
            "evidence": {"channel": "web"},
        },
        format="json",
    )
    body = {
        "subject_ref": "ml-1",
        "purpose": "spending-analysis",
        "scopes": ["bank.deposit.basic"],
    }
    return api, api.post("/api/v1/checks/", body, format="json").json()


def _jwks() -> dict:
    return Client().get("/.well-known/jwks.json").json()


def _tamper_claims(token: str, **changes) -> str:
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims.update(changes)
    return ".".join([header, b64url(json.dumps(claims).encode()), signature])


@pytest.mark.django_db
def test_transfer_token_verifies_against_the_published_keys(allowed):
    _, check = allowed
    claims = verify_jws(check["transfer_token"], _jwks())
    assert claims["jti"] == check["decision_id"]
    assert claims["recipient"] == "moneylog"
    assert claims["scopes"] == ["bank.deposit.basic"]
    assert claims["exp"] - claims["iat"] <= 300


@pytest.mark.django_db
def test_tampered_token_fails(allowed):
    _, check = allowed
    forged = _tamper_claims(check["transfer_token"], scopes=["bank"])
    with pytest.raises(SignatureError):
        verify_jws(forged, _jwks())


@pytest.mark.django_db
def test_token_signed_by_another_key_fails(allowed):
    _, check = allowed
    header, payload, _ = check["transfer_token"].split(".")
    other = Ed25519PrivateKey.generate()
    signature = b64url(other.sign(f"{header}.{payload}".encode()))
    with pytest.raises(SignatureError):
        verify_jws(f"{header}.{payload}.{signature}", _jwks())
    # ...and the same key under its own kid is unknown to the platform's JWKS.
    attacker = {"keys": [public_jwk(other.public_key(), "attacker")]}
    with pytest.raises(SignatureError):
        verify_jws(check["transfer_token"], attacker)


@pytest.mark.django_db
def test_expired_token_is_refused_for_transfers(allowed, monkeypatch):
    api, check = allowed
    later = timezone.now() + timezone.timedelta(seconds=301)
    monkeypatch.setattr("consents.receipts.timezone.now", lambda: later)
    response = api.post(
        "/api/v1/transfers/",
        {
            "transfer_token": check["transfer_token"],
            "scopes": ["bank.deposit.basic"],
            "record_count": 1,
            "direction": "received",
        },
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_transfer_token"


@pytest.mark.django_db
def test_rotated_key_keeps_old_tokens_verifiable(allowed, settings):
    _, check = allowed
    settings.CMP_SIGNING_KEYS = [
        "next:" + base64.b64encode(b"n" * 32).decode(),
        *settings.CMP_SIGNING_KEYS,
    ]
    keys = _jwks()["keys"]
    assert [key["kid"] for key in keys][:1] == ["next"]
    assert verify_jws(check["transfer_token"], {"keys": keys})["jti"]


@pytest.mark.django_db
def test_receipt_is_signed_and_describes_the_consent(moneylog):
    consent = (
        moneylog.api()
        .post(
            "/api/v1/consents/",
            {
                "subject_ref": "ml-9",
                "purpose": "credit-scoring",
                "scopes": ["credit.score"],
                "duration_days": 30,
                "evidence": {"channel": "branch", "clerk": "E-17"},
            },
            format="json",
        )
        .json()
    )
    receipt = verify_jws(consent["receipt"], _jwks())
    assert receipt["consent_id"] == consent["id"]
    assert receipt["scopes"] == ["credit.score"]
    assert receipt["purpose"] == "credit-scoring"
    # The same instant: the receipt is in UTC, the API answers in local time.
    assert datetime.fromisoformat(receipt["expires_at"]) == datetime.fromisoformat(
        consent["expires_at"]
    )
