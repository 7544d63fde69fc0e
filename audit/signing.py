"""Ed25519 signing keys, compact JWS (EdDSA) and the published JWKS.

Keys come from `CMP_SIGNING_KEYS` as "kid:base64(32-byte seed)" entries; the first
signs, all are published, so a rotated key's old signatures still verify.
"""

import base64
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from audit.chain import canonical_json
from cmp_common.wire.jws import SignatureError, b64url, b64url_decode, verify_compact

__all__ = [
    "SignatureError",
    "SigningKey",
    "b64url",
    "b64url_decode",
    "jwks",
    "public_jwk",
    "sign_jws",
    "signing_keys",
    "verify_jws",
]


@dataclass(frozen=True)
class SigningKey:
    kid: str
    private: Ed25519PrivateKey

    @property
    def public(self) -> Ed25519PublicKey:
        return self.private.public_key()


@cache
def _parse(entries: tuple[str, ...]) -> tuple[SigningKey, ...]:
    keys = []
    for entry in entries:
        kid, _, encoded = entry.partition(":")
        seed = base64.b64decode(encoded)
        if not kid or len(seed) != 32:
            raise ImproperlyConfigured(
                "CMP_SIGNING_KEYS entries are kid:base64(32 bytes)"
            )
        keys.append(SigningKey(kid, Ed25519PrivateKey.from_private_bytes(seed)))
    if not keys:
        raise ImproperlyConfigured("CMP_SIGNING_KEYS is empty")
    return tuple(keys)


def signing_keys() -> tuple[SigningKey, ...]:
    return _parse(tuple(settings.CMP_SIGNING_KEYS))


def public_jwk(key: Ed25519PublicKey, kid: str) -> dict[str, str]:
    raw = key.public_bytes(Encoding.Raw, PublicFormat.Raw)
    return {
        "kty": "OKP",
        "crv": "Ed25519",
        "x": b64url(raw),
        "kid": kid,
        "alg": "EdDSA",
        "use": "sig",
    }


def jwks() -> dict[str, list[dict[str, str]]]:
    """The document served at /.well-known/jwks.json."""
    return {"keys": [public_jwk(key.public, key.kid) for key in signing_keys()]}


def sign_jws(
    claims: Mapping[str, Any], *, typ: str = "JWT", detached: bool = False
) -> str:
    """Compact JWS over the canonical JSON of `claims`, signed by the active key.

    `detached` leaves the payload part empty: the signed document travels beside
    the signature (RFC 7515, appendix F).
    """
    key = signing_keys()[0]
    header = _header(key.kid, typ)
    payload = b64url(canonical_json(claims))
    signature = key.private.sign(f"{header}.{payload}".encode("ascii"))
    return f"{header}.{'' if detached else payload}.{b64url(signature)}"


@cache
def _header(kid: str, typ: str) -> str:
    return b64url(canonical_json({"alg": "EdDSA", "kid": kid, "typ": typ}))


def verify_jws(token: str, keyset: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Check a compact JWS against a JWKS (default: our own); return its claims."""
    return verify_compact(token, keyset or jwks())[1]
