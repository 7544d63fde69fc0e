"""Compact JWS (EdDSA over Ed25519) checked against a JWKS, without Django.

The offline export verifier imports this module on a regulator's machine, so it
needs only the standard library and `cryptography`.
"""

import base64
import json
from collections.abc import Mapping
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey


class SignatureError(Exception):
    """A JWS that is malformed, signed by an unknown key, or whose signature fails."""


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def verify_compact(
    token: str, keyset: Mapping[str, Any], *, detached: bytes | None = None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Check a compact JWS against `keyset`; return its header and claims.

    With `detached`, the token's payload part is empty (RFC 7515, appendix F) and
    these bytes are what was signed.
    """
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
        raise SignatureError("malformed token") from exc
    if not isinstance(header, dict) or header.get("alg") != "EdDSA":
        raise SignatureError("unsupported algorithm")
    keys = {jwk.get("kid"): jwk for jwk in keyset.get("keys", [])}
    jwk = keys.get(header.get("kid"))
    if jwk is None or jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519":
        raise SignatureError("unknown signing key")
    try:
        public = Ed25519PublicKey.from_public_bytes(b64url_decode(jwk["x"]))
        public.verify(signature, f"{header_part}.{payload_part}".encode("ascii"))
    except (InvalidSignature, ValueError, KeyError) as exc:
        raise SignatureError("bad signature") from exc
    if not isinstance(claims, dict):
        raise SignatureError("claims are not an object")
    return header, claims
