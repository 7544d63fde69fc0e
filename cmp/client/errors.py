"""Typed errors: each carries the API's machine-readable code, message and fields."""

from __future__ import annotations

from typing import Any


class CMPError(Exception):
    """Base of every error the SDK raises."""

    def __init__(
        self,
        message: str,
        *,
        code: str = "error",
        status: int | None = None,
        fields: dict[str, Any] | None = None,
    ):
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status
        self.fields = fields or {}

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r}, code={self.code!r})"


class ConnectionFailed(CMPError):
    """The platform could not be reached (after the retries)."""


class APIError(CMPError):
    """The platform answered with an error."""


class InvalidRequest(APIError):
    """400: the request was malformed; `fields` says what is wrong."""


class AuthenticationFailed(APIError):
    """401: the client credentials or the token were refused."""


class PermissionDenied(APIError):
    """403: the token lacks the scope, or the organization is suspended."""


class NotFound(APIError):
    """404: no such object for this organization."""


class Conflict(APIError):
    """409: the object is in a state that does not allow this (e.g. revoked)."""


class RateLimited(APIError):
    """429 (after the retries): slow down for `retry_after` seconds."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kw: Any):
        super().__init__(message, **kw)
        self.retry_after = retry_after


class ServerError(APIError):
    """5xx (after the retries, where retrying is allowed)."""


class TokenVerificationError(CMPError):
    """A transfer token is malformed, expired, or not signed by the platform."""


_BY_STATUS: dict[int, type[APIError]] = {
    400: InvalidRequest,
    401: AuthenticationFailed,
    403: PermissionDenied,
    404: NotFound,
    409: Conflict,
    429: RateLimited,
}


def error_for(status: int, body: Any, retry_after: float | None = None) -> APIError:
    """The typed error for an error answer with the platform's error body."""
    detail = body.get("error", {}) if isinstance(body, dict) else {}
    if not isinstance(detail, dict):
        detail = {}
    message = str(detail.get("message") or f"HTTP {status}")
    kind = _BY_STATUS.get(status, ServerError if status >= 500 else APIError)
    options: dict[str, Any] = {
        "code": str(detail.get("code") or f"http_{status}"),
        "status": status,
        "fields": detail.get("fields") or {},
    }
    if kind is RateLimited:
        return RateLimited(message, retry_after=retry_after, **options)
    return kind(message, **options)
