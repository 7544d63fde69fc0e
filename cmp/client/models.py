"""What the API answers, as typed results. `raw` keeps the whole JSON object."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, fields
from datetime import datetime
from functools import cache
from typing import Any, TypeVar, cast

T = TypeVar("T")


def _datetime(value: Any) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


@cache
def _names(kind: type) -> tuple[str, ...]:
    return tuple(f.name for f in fields(kind) if f.name != "raw")


def _build(kind: type[T], data: dict[str, Any], **converted: Any) -> T:
    """`kind` from the API object: its own fields, converted ones, and `raw`."""
    # Classes are hashable; mypy does not see it for type[T] (python/mypy#11470).
    values = {name: data.get(name) for name in _names(kind)}  # type: ignore[arg-type]
    values.update(converted)
    return cast(Callable[..., T], kind)(**values, raw=data)


@dataclass(frozen=True)
class CheckResult:
    allowed: bool
    reason: str | None
    consent_id: str | None
    expires_at: datetime | None
    missing_scopes: list[str]
    decision_id: str
    transfer_token: str | None
    raw: dict[str, Any] = field(repr=False, compare=False)

    def __bool__(self) -> bool:
        return self.allowed

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> CheckResult:
        return _build(cls, data, expires_at=_datetime(data.get("expires_at")))


@dataclass(frozen=True)
class Consent:
    id: str
    status: str
    subject_ref: str | None
    purpose: str | None
    scopes: list[str]
    holders: list[str]
    granted_at: datetime | None
    expires_at: datetime | None
    receipt: str | None
    raw: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> Consent:
        purpose = data.get("purpose")
        return _build(
            cls,
            data,
            purpose=purpose.get("code") if isinstance(purpose, dict) else purpose,
            scopes=list(data.get("scopes") or []),
            holders=list(data.get("holders") or []),
            granted_at=_datetime(data.get("granted_at")),
            expires_at=_datetime(data.get("expires_at")),
        )


@dataclass(frozen=True)
class ConsentRequest:
    id: str
    status: str
    approve_url: str | None
    consent_id: str | None
    raw: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> ConsentRequest:
        return _build(cls, data)


@dataclass(frozen=True)
class Transfer:
    id: str
    consent_id: str
    decision_id: str
    direction: str
    record_count: int
    occurred_at: datetime | None
    raw: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> Transfer:
        return _build(cls, data, occurred_at=_datetime(data.get("occurred_at")))


@dataclass(frozen=True)
class Acknowledgement:
    consent_id: str
    action: str
    acknowledged_at: datetime | None
    seconds_after_end: float
    raw: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> Acknowledgement:
        return _build(cls, data, acknowledged_at=_datetime(data.get("acknowledged_at")))
