"""Standard Webhooks signatures: what the platform signs, the SDK verifies."""

import base64
import json
import time

import pytest

from audit.signing import jwks
from cmp_common.wire.webhooks import WebhookVerificationError, sign_v1, verify_webhook

SECRET = "whsec_" + base64.b64encode(b"k" * 32).decode()
BODY = json.dumps({"type": "consent.revoked", "data": {"consent_id": "c1"}}).encode()


def _headers(msg_id: str = "msg_1", timestamp: int | None = None, **extra) -> dict:
    timestamp = int(time.time()) if timestamp is None else timestamp
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign_v1(SECRET, msg_id, timestamp, BODY),
        **extra,
    }


def test_a_signed_notice_verifies_and_returns_its_payload():
    assert verify_webhook(_headers(), BODY, SECRET)["type"] == "consent.revoked"


@pytest.mark.parametrize(
    "change",
    [
        lambda h, b: (h, b.replace(b"c1", b"c2")),
        lambda h, b: ({**h, "webhook-id": "msg_2"}, b),
        lambda h, b: (
            {**h, "webhook-timestamp": str(int(h["webhook-timestamp"]) + 1)},
            b,
        ),
    ],
    ids=["body", "id", "timestamp"],
)
def test_a_changed_body_id_or_timestamp_fails(change):
    headers, body = change(_headers(), BODY)
    with pytest.raises(WebhookVerificationError):
        verify_webhook(headers, body, SECRET)


def test_another_secret_fails():
    other = "whsec_" + base64.b64encode(b"x" * 32).decode()
    with pytest.raises(WebhookVerificationError):
        verify_webhook(_headers(), BODY, other)


@pytest.mark.parametrize("skew", [-301, 301])
def test_a_timestamp_more_than_five_minutes_off_is_refused(skew):
    now = time.time()
    headers = _headers(timestamp=int(now) + skew)
    with pytest.raises(WebhookVerificationError, match="tolerance"):
        verify_webhook(headers, BODY, SECRET, now=now)


def test_one_valid_signature_among_several_is_enough():
    headers = _headers()
    headers["webhook-signature"] = "v1,bm9wZQ== " + headers["webhook-signature"]
    assert verify_webhook(headers, BODY, SECRET)


def test_headers_are_matched_case_insensitively_and_missing_ones_refused():
    headers = {k.title(): v for k, v in _headers().items()}
    assert verify_webhook(headers, BODY, SECRET)
    del headers["Webhook-Signature"]
    with pytest.raises(WebhookVerificationError, match="missing"):
        verify_webhook(headers, BODY, SECRET)


def test_v1a_ed25519_signature_verifies_against_the_published_jwks(settings):
    from audit.signing import signing_keys
    from cmp_common.wire.webhooks import signed_content

    timestamp = int(time.time())
    signature = signing_keys()[0].private.sign(signed_content("msg_9", timestamp, BODY))
    headers = {
        "webhook-id": "msg_9",
        "webhook-timestamp": str(timestamp),
        "webhook-signature": "v1a," + base64.b64encode(signature).decode(),
    }
    assert verify_webhook(headers, BODY, jwks=jwks())["type"] == "consent.revoked"
    with pytest.raises(WebhookVerificationError):
        verify_webhook(headers, BODY + b" ", jwks=jwks())
