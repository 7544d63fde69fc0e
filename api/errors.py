"""One error body for every 4xx: {"error": {"code", "message", "fields"}}."""

from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db import InterfaceError, OperationalError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from audit.signing import SignatureError
from consents import errors as domain

_DOMAIN_STATUS = {
    domain.NotFoundError: status.HTTP_404_NOT_FOUND,
    domain.InvalidTransitionError: status.HTTP_409_CONFLICT,
    domain.ConsentNotActiveError: status.HTTP_409_CONFLICT,
    domain.ConsentStillLiveError: status.HTTP_409_CONFLICT,
    domain.SubjectErasedError: status.HTTP_409_CONFLICT,
    domain.ConsentImmutableError: status.HTTP_409_CONFLICT,
    domain.PurposeVersionFrozenError: status.HTTP_409_CONFLICT,
}


def error_body(code: str, message: str, fields: Any = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "fields": fields or {}}}


def _flatten(detail: Any) -> tuple[str, dict[str, Any]]:
    """DRF's nested detail as a message and a field map."""
    if isinstance(detail, dict):
        fields = {key: _messages(value) for key, value in detail.items()}
        general = fields.pop("non_field_errors", None)
        message = "; ".join(general) if general else "the request is invalid"
        return message, fields
    messages = _messages(detail)
    return "; ".join(messages), {}


def _messages(value: Any) -> Any:
    if isinstance(value, list):
        return [
            _messages(item) if isinstance(item, dict) else str(item) for item in value
        ]
    if isinstance(value, dict):
        return {key: _messages(item) for key, item in value.items()}
    return [str(value)]


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, domain.ConsentError):
        code = getattr(exc, "reason", None) or exc.code
        http_status = _DOMAIN_STATUS.get(type(exc), status.HTTP_400_BAD_REQUEST)
        return Response(error_body(code, exc.message, exc.fields), status=http_status)
    if isinstance(exc, SignatureError):
        body = error_body(
            "invalid_transfer_token", str(exc), {"transfer_token": [str(exc)]}
        )
        return Response(body, status=status.HTTP_400_BAD_REQUEST)
    # DRF answers these two Django exceptions too; ours have the code and detail.
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    if isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    if isinstance(exc, (OperationalError, InterfaceError)):
        # The database went away (a restart, a failover): nothing was decided.
        body = error_body("service_unavailable", "the database is unavailable")
        return Response(body, status=503, headers={"Retry-After": "1"})
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    assert isinstance(exc, exceptions.APIException)  # what DRF's handler answers
    message, fields = _flatten(exc.detail)
    codes = exc.get_codes()
    if isinstance(exc, exceptions.ValidationError):
        code = "invalid"
    else:
        code = codes if isinstance(codes, str) else exc.default_code
    response.data = error_body(code, message, fields)
    return response
