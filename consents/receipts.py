"""Signed consent receipts and short-lived transfer tokens (compact JWS, EdDSA)."""

from datetime import timedelta
from typing import Any
from uuid import UUID

from django.conf import settings
from django.utils import timezone

from audit.signing import SignatureError, sign_jws, verify_jws
from consents.decisions import ConsentDecision
from consents.models import Consent

ISSUER = "cmp"


def _date(value) -> str | None:
    return value.isoformat() if value else None


def receipt_claims(consent: Consent) -> dict[str, Any]:
    """What the person agreed to, frozen at grant: never the changing status."""
    version = consent.purpose_version
    return {
        "iss": ISSUER,
        "typ": "consent-receipt",
        "consent_id": str(consent.id),
        "subject": consent.subject.pseudonym,
        "recipient": consent.recipient.code,
        "holders": sorted(h.code for h in consent.holders.all()),
        "purpose": consent.purpose.code,
        "purpose_version": version.version,
        "legal_basis": version.legal_basis,
        "scopes": sorted(s.code for s in consent.scopes.all()),
        "granted_at": consent.granted_at.isoformat(),
        "starts_at": consent.starts_at.isoformat(),
        "expires_at": consent.expires_at.isoformat(),
        "data_from": _date(consent.data_from),
        "data_to": _date(consent.data_to),
        "max_uses_per_day": consent.max_uses_per_day,
        "retention_days": consent.retention_days,
        "collection_method": consent.collection_method,
        "iat": int(consent.granted_at.timestamp()),
    }


def consent_receipt(consent: Consent) -> str:
    return sign_jws(receipt_claims(consent), typ="consent-receipt+jwt")


def transfer_token(
    decision: ConsentDecision, *, purpose: str, scopes: list[str]
) -> str:
    """Proof of an allowed check that the other party verifies offline via JWKS."""
    now = timezone.now()
    lifetime = min(settings.CMP_TRANSFER_TOKEN_SECONDS, 300)
    return sign_jws(
        {
            "iss": ISSUER,
            "jti": str(decision.decision_id),
            "consent_id": str(decision.consent_id),
            "recipient": decision.recipient,
            "holder": decision.holder or None,
            "purpose": purpose,
            "scopes": scopes,
            "iat": int(now.timestamp()),
            "exp": int((now + timedelta(seconds=lifetime)).timestamp()),
        },
        typ="transfer-token+jwt",
    )


def decision_from_transfer_token(token: str) -> UUID:
    """The decision id inside a valid, unexpired transfer token."""
    claims = verify_jws(token)
    if claims.get("iss") != ISSUER or "jti" not in claims:
        raise SignatureError("not a transfer token")
    if int(claims.get("exp", 0)) <= int(timezone.now().timestamp()):
        raise SignatureError("the transfer token has expired")
    try:
        return UUID(claims["jti"])
    except (TypeError, ValueError) as exc:
        raise SignatureError("malformed token id") from exc
