"""Compact JWS (EdDSA over Ed25519) checked against a JWKS, without Django.

Used by organizations (transfer tokens, through `cmp.client.tokens`) and by the
platform itself, including the offline audit-export verifier a regulator runs:
it needs only the standard library and `cryptography`.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from typing import Any


class SignatureError(Exception):
    """A compact JWS is malformed, or not signed by a key of the keyset."""

    def __init__(self, message: str, *, code: str = "bad_signature") -> None:
        super().__init__(message)
        self.code = code


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _refuse(message: str, code: str) -> SignatureError:
    return SignatureError(message, code=code)


def verify_compact(
    token: str, keyset: Mapping[str, Any], *, detached: bytes | None = None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Check a compact JWS against `keyset`; return its header and claims.

    With `detached`, the token's payload part is empty (RFC 7515, appendix F) and
    these bytes are what was signed.
    """
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    try:
        header_part, payload_part, signature_part = token.split(".")
        if detached is not None:
            if payload_part:
                raise ValueError("a detached signature carries no payload")
            payload_part = b64url(detached)
        header = json.loads(b64url_decode(header_part))
        claims = json.loads(b64url_decode(payload_part))
        signature = b64url_decode(signature_part)
    except (ValueError, TypeError, AttributeError) as exc:
        raise _refuse("malformed token", "malformed") from exc
    if not isinstance(header, dict) or header.get("alg") != "EdDSA":
        raise _refuse("unsupported algorithm", "bad_algorithm")
    keys = {jwk.get("kid"): jwk for jwk in keyset.get("keys", [])}
    jwk = keys.get(header.get("kid"))
    if jwk is None or jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519":
        raise _refuse("unknown signing key", "unknown_key")
    try:
        public = Ed25519PublicKey.from_public_bytes(b64url_decode(jwk["x"]))
        public.verify(signature, f"{header_part}.{payload_part}".encode("ascii"))
    except (InvalidSignature, ValueError, KeyError) as exc:
        raise _refuse("bad signature", "bad_signature") from exc
    if not isinstance(claims, dict):
        raise _refuse("claims are not an object", "malformed")
    return header, claims
