"""Transfer tokens (compact JWS, EdDSA) verified offline against the platform's JWKS.

A data holder that receives a recipient's request for data verifies the token
the recipient got from its allowed check: signed by the platform, not expired,
for the consent, purpose and scopes asked about. Only `cryptography` is needed.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast

from cmp.client.errors import TokenVerificationError
from cmp_common.wire.jws import SignatureError, b64url_decode, verify_compact

ISSUER = "cmp"


@dataclass(frozen=True)
class TransferToken:
    decision_id: str
    consent_id: str
    recipient: str
    holder: str | None
    purpose: str
    scopes: list[str]
    issued_at: int
    expires_at: int


def _kid(token: str) -> str | None:
    try:
        header = json.loads(b64url_decode(token.split(".")[0]))
    except (ValueError, IndexError):
        return None
    return header.get("kid") if isinstance(header, dict) else None


class JWKSCache:
    """The platform's published keys, fetched once and kept for `ttl` seconds.

    A token signed by a key not yet in the cache (the platform rotated keys)
    triggers one early refetch, at most every `min_refresh` seconds.
    """

    def __init__(
        self,
        url: str,
        *,
        ttl: float = 3600.0,
        min_refresh: float = 30.0,
        timeout: float = 5.0,
        session: Any = None,
    ):
        self.url = url
        self.ttl = ttl
        self.min_refresh = min_refresh
        self.timeout = timeout
        self._session = session
        self._lock = threading.Lock()
        self._keys: dict[str, Any] | None = None
        self._fetched_at = 0.0

    def _fetch(self) -> dict[str, Any]:
        import requests

        http = self._session or requests
        response = http.get(self.url, timeout=self.timeout)
        response.raise_for_status()
        return response.json()

    def keys(self, *, wanted_kid: str | None = None) -> dict[str, Any]:
        with self._lock:
            age = time.monotonic() - self._fetched_at
            known = {k.get("kid") for k in (self._keys or {}).get("keys", [])}
            stale = self._keys is None or age > self.ttl
            unknown = wanted_kid is not None and wanted_kid not in known
            if stale or (unknown and age >= self.min_refresh):
                self._keys = self._fetch()
                self._fetched_at = time.monotonic()
            return cast("dict[str, Any]", self._keys)  # fetched above when None


def verify_transfer_token(
    token: str,
    jwks: Mapping[str, Any] | JWKSCache,
    *,
    consent_id: str | None = None,
    purpose: str | None = None,
    scopes: list[str] | None = None,
    holder: str | None = None,
    now: float | None = None,
    leeway: int = 30,
) -> TransferToken:
    """Check a transfer token offline; optionally that it covers what is asked.

    `jwks` is the document from `/.well-known/jwks.json`, or a `JWKSCache`.
    """
    keyset = jwks.keys(wanted_kid=_kid(token)) if isinstance(jwks, JWKSCache) else jwks
    try:
        _, claims = verify_compact(token, keyset)
    except SignatureError as exc:
        raise TokenVerificationError(str(exc), code=exc.code) from exc
    if claims.get("iss") != ISSUER or "jti" not in claims:
        raise TokenVerificationError("not a transfer token", code="not_transfer_token")
    current = time.time() if now is None else now
    if int(claims.get("exp", 0)) + leeway <= current:
        raise TokenVerificationError("the transfer token has expired", code="expired")
    parsed = TransferToken(
        decision_id=str(claims["jti"]),
        consent_id=str(claims.get("consent_id")),
        recipient=str(claims.get("recipient")),
        holder=claims.get("holder"),
        purpose=str(claims.get("purpose")),
        scopes=list(claims.get("scopes") or []),
        issued_at=int(claims.get("iat", 0)),
        expires_at=int(claims.get("exp", 0)),
    )
    mismatches = [
        name
        for name, wanted, actual in (
            ("consent_id", consent_id, parsed.consent_id),
            ("purpose", purpose, parsed.purpose),
            ("holder", holder, parsed.holder),
        )
        if wanted is not None and wanted != actual
    ]
    if scopes is not None and not set(scopes) <= set(parsed.scopes):
        mismatches.append("scopes")
    if mismatches:
        raise TokenVerificationError(
            f"the token does not cover {', '.join(mismatches)}", code="mismatch"
        )
    return parsed
