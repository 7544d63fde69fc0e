"""The terms a consent is asked for or granted under, checked the same way for
both: the purpose's version, known scopes, valid holders, the validity period
within what the purpose allows, and the data window."""

from collections.abc import Sequence
from datetime import date, datetime, timedelta

from consents.errors import ValidationError
from consents.models import Organization, Purpose, PurposeVersion, Scope


def validate_terms(
    *,
    purpose_code: str,
    scope_codes: Sequence[str],
    holder_codes: Sequence[str],
    recipient: Organization,
    pinned_version: PurposeVersion | None = None,
) -> tuple[PurposeVersion, list[Scope], list[Organization]]:
    """The purpose's current version (or the pinned one), scopes and holders."""
    purpose = Purpose.objects.filter(code=purpose_code).first()
    version = purpose.versions.order_by("-version").first() if purpose else None
    if pinned_version is not None and purpose is not None:
        version = pinned_version if pinned_version.purpose_id == purpose.pk else None
    if version is None or purpose is None:
        raise ValidationError(
            "unknown purpose", fields={"purpose": ["unknown purpose"]}
        )
    if purpose.retired_at is not None:
        raise ValidationError("purpose retired", fields={"purpose": ["retired"]})
    codes = sorted(set(scope_codes))
    if not codes:
        raise ValidationError("no scopes", fields={"scopes": ["at least one scope"]})
    scopes = list(Scope.objects.filter(code__in=codes))
    unknown = sorted(set(codes) - {scope.code for scope in scopes})
    if unknown:
        raise ValidationError(
            "unknown scopes", fields={"scopes": [f"unknown scope {c}" for c in unknown]}
        )
    holder_set = sorted(set(holder_codes))
    holders = list(Organization.objects.filter(code__in=holder_set))
    problems = [
        f"unknown organization {code}"
        for code in sorted(set(holder_set) - {h.code for h in holders})
    ]
    problems += [f"{h.code} is suspended" for h in holders if not h.is_active]
    problems += [f"{h.code} is the recipient" for h in holders if h.pk == recipient.pk]
    if problems:
        raise ValidationError("invalid holders", fields={"holders": problems})
    return version, scopes, holders


def validate_window(data_from: date | None, data_to: date | None) -> None:
    """A data window, where given on both ends, does not end before it starts."""
    if data_from and data_to and data_to < data_from:
        raise ValidationError("bad window", fields={"data_to": ["before data_from"]})


def validate_period(
    *,
    version: PurposeVersion,
    now: datetime,
    starts_at: datetime | None,
    expires_at: datetime | None,
    duration_days: int | None,
) -> tuple[datetime, datetime]:
    """The start and end: an end or a duration, never longer than the purpose's."""
    starts = starts_at or now
    if expires_at is not None and duration_days is not None:
        raise ValidationError(
            "give expires_at or duration_days, not both",
            fields={"expires_at": ["give expires_at or duration_days, not both"]},
        )
    if expires_at is None:
        days = duration_days if duration_days is not None else version.max_duration_days
        if days < 1:
            raise ValidationError(
                "bad duration", fields={"duration_days": ["at least 1"]}
            )
        expires_at = starts + timedelta(days=days)
    if expires_at <= starts:
        raise ValidationError(
            "expires_at must be after the start",
            fields={"expires_at": ["must be after the start"]},
        )
    if expires_at > starts + timedelta(days=version.max_duration_days):
        raise ValidationError(
            "longer than the purpose allows",
            fields={
                "expires_at": [
                    f"at most {version.max_duration_days} days for this purpose"
                ]
            },
        )
    return starts, expires_at
