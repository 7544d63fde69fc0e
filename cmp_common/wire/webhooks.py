"""Standard Webhooks signatures (https://www.standardwebhooks.com/).

The platform signs every notice with the endpoint's secret (`v1`, HMAC-SHA256
over `{webhook-id}.{webhook-timestamp}.{body}`) and, when the endpoint asks for
it, with the platform's Ed25519 key (`v1a`, verifiable with the published JWKS).
Receivers call `verify_webhook` (in the SDK: `cmp.client.verify_webhook`); it
needs only the standard library (and `cryptography` for `v1a`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Iterable, Mapping
from typing import Any

from cmp_common.wire.jws import b64url_decode

SECRET_PREFIX = "whsec_"
DEFAULT_TOLERANCE_SECONDS = 300


class WebhookVerificationError(Exception):
    """The notice is not authentic, or too old or too new to trust."""


def _secret_bytes(secret: str) -> bytes:
    encoded = secret.removeprefix(SECRET_PREFIX)
    try:
        return base64.b64decode(encoded, validate=True)
    except ValueError as exc:
        raise WebhookVerificationError("the secret is not whsec_<base64>") from exc


def signed_content(msg_id: str, timestamp: int, body: bytes) -> bytes:
    """What every signature covers: id, timestamp and the exact body bytes."""
    return f"{msg_id}.{timestamp}.".encode() + body


def sign_v1(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The `v1,<base64>` HMAC-SHA256 signature of one notice."""
    digest = hmac.new(
        _secret_bytes(secret), signed_content(msg_id, timestamp, body), hashlib.sha256
    ).digest()
    return "v1," + base64.b64encode(digest).decode()


def _header(headers: Mapping[str, str], name: str) -> str:
    for key, value in headers.items():
        if key.lower() == name:
            return value
    raise WebhookVerificationError(f"missing header {name}")


def _ed25519_keys(jwks: Mapping[str, Any]) -> Iterable[Any]:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    for jwk in jwks.get("keys", []):
        if jwk.get("kty") == "OKP" and jwk.get("crv") == "Ed25519":
            raw = b64url_decode(jwk["x"])
            yield Ed25519PublicKey.from_public_bytes(raw)


def _v1a_valid(signature: bytes, content: bytes, jwks: Mapping[str, Any]) -> bool:
    from cryptography.exceptions import InvalidSignature

    for key in _ed25519_keys(jwks):
        try:
            key.verify(signature, content)
            return True
        except InvalidSignature:
            continue
    return False


def verify_webhook(
    headers: Mapping[str, str],
    body: bytes | str,
    secret: str | None = None,
    *,
    jwks: Mapping[str, Any] | None = None,
    tolerance: int = DEFAULT_TOLERANCE_SECONDS,
    now: float | None = None,
) -> dict[str, Any]:
    """The notice's JSON payload, once one of its signatures checks out.

    `secret` checks `v1` (HMAC) signatures, `jwks` the `v1a` (Ed25519) ones; give
    either or both. The header may carry several signatures, separated by spaces
    (during a secret rotation): one valid signature is enough. A timestamp more
    than `tolerance` seconds away from `now` is refused, so a captured notice
    cannot be replayed later.
    """
    if secret is None and jwks is None:
        raise ValueError("give the endpoint's secret, the platform's JWKS, or both")
    raw = body.encode() if isinstance(body, str) else bytes(body)
    msg_id = _header(headers, "webhook-id")
    stamp = _header(headers, "webhook-timestamp")
    signatures = _header(headers, "webhook-signature").split()
    try:
        timestamp = int(stamp)
    except ValueError as exc:
        raise WebhookVerificationError("webhook-timestamp is not a number") from exc
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance:
        raise WebhookVerificationError("webhook-timestamp is outside the tolerance")
    content = signed_content(msg_id, timestamp, raw)
    expected = sign_v1(secret, msg_id, timestamp, raw) if secret else None
    for entry in signatures:
        version, _, value = entry.partition(",")
        if version == "v1" and expected and hmac.compare_digest(entry, expected):
            return json.loads(raw)
        if version == "v1a" and jwks is not None:
            try:
                signature = base64.b64decode(value, validate=True)
            except ValueError:
                continue
            if _v1a_valid(signature, content, jwks):
                return json.loads(raw)
    raise WebhookVerificationError("no valid signature")
