"""`POST /api/v1/checks/`: its view, input and output, and the fast path most
checks take. The rule of the check itself is `consents.decisions`.

Every transfer is preceded by a check, so the check's cost is the platform's.
For a check, DRF's own work (wrapping the request, negotiating, running the
permission and throttle classes, rendering the response) costs more than the
decision does. So `fast_answer` serves a check itself when DRF's path would do
exactly the same: a POST of a plain JSON body (`plain_check_input`) that asks for
JSON, whose bearer token this process has already resolved and which carries the
view's scope. The same rules then apply in the same order: the remembered token
and its scope, the organization's rate limit, then the decision query, which
confirms the token and the organization again. Every error goes through DRF's
own error handling, so status, body and headers are DRF's.

Any other request, a token's first call included, returns None and takes DRF's
path. `tests/api/test_check_fast_path.py` holds both paths to the same answers.
"""

from datetime import datetime
from functools import cache
from time import perf_counter
from typing import Any, cast

import orjson
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import AuthenticationFailed, Throttled
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from api.authentication import (
    OrganizationAuthentication,
    OrganizationSuspended,
    bearer_checksum,
)
from api.metrics import CHECK_SECONDS, CHECKS
from api.negotiation import ANY_JSON, JSON, JSON_BODY
from api.organizations.views import OrganizationView
from api.serializers import StrictInputSerializer, codes_field
from api.throttling import admit
from consents import services
from consents.decisions import ConsentDecision
from consents.errors import CredentialRejectedError, OrganizationSuspendedError
from consents.models import Organization
from consents.receipts import transfer_token
from consents.services.checks import Credential

# Check bodies are a few hundred bytes; a larger one takes DRF's path.
MAX_FAST_BODY = 16 * 1024


class CheckInputSerializer(StrictInputSerializer):
    subject_ref = serializers.CharField(max_length=128)
    purpose = serializers.CharField(max_length=100)
    scopes = codes_field()
    counterparty = serializers.CharField(max_length=32, required=False)
    data_from = serializers.DateField(required=False)
    data_to = serializers.DateField(required=False)


def _plain(value: Any, max_length: int) -> bool:
    """A string any CharField here takes unchanged: printable ASCII, trimmed."""
    return (
        type(value) is str
        and 0 < len(value) <= max_length
        and value.isascii()
        and value.isprintable()
        and value == value.strip()
    )


_CHECK_FIELDS = frozenset(CheckInputSerializer().fields)


def plain_check_input(data: Any) -> dict[str, Any] | None:
    """What CheckInputSerializer returns for the common body (plain codes, no
    dates), taken as it is; None for any other body."""
    if type(data) is dict and data.keys() <= _CHECK_FIELDS:
        scopes = data.get("scopes")
        if (
            _plain(data.get("subject_ref"), 128)
            and _plain(data.get("purpose"), 100)
            and type(scopes) is list
            and 0 < len(scopes) <= 100
            and all(_plain(code, 100) for code in scopes)
            and ("counterparty" not in data or _plain(data["counterparty"], 32))
            and "data_from" not in data
            and "data_to" not in data
        ):
            return dict(data)
    return None


def valid_check_input(data: Any) -> dict[str, Any]:
    """What CheckInputSerializer returns, without it for the common body; any
    other body, and every error, goes through the serializer itself."""
    plain = plain_check_input(data)
    return plain if plain is not None else CheckInputSerializer().run_validation(data)


class CheckOutputSerializer(serializers.Serializer):
    allowed = serializers.BooleanField()
    reason = serializers.CharField(allow_null=True)
    consent_id = serializers.UUIDField(allow_null=True)
    expires_at = serializers.DateTimeField(allow_null=True)
    missing_scopes = serializers.ListField(child=serializers.CharField())
    decision_id = serializers.UUIDField()
    transfer_token = serializers.CharField(allow_null=True)


def check_answer(decision: ConsentDecision, transfer_token: str | None) -> dict:
    """CheckOutputSerializer's rendering of a decision, written out for the hot
    path (a test holds the two equal)."""
    expires_at: datetime | str | None
    expires_at = decision.expires_at
    if expires_at is not None:
        expires_at = timezone.localtime(expires_at).isoformat()
        if expires_at.endswith("+00:00"):
            expires_at = expires_at[:-6] + "Z"
    return {
        "allowed": decision.allowed,
        "reason": decision.reason.value if decision.reason else None,
        "consent_id": str(decision.consent_id) if decision.consent_id else None,
        "expires_at": expires_at,
        "missing_scopes": list(decision.missing_scopes),
        "decision_id": str(decision.decision_id),
        "transfer_token": transfer_token,
    }


def answer(
    organization: Organization, data: dict[str, Any], credential: Credential
) -> dict:
    """Decide, audit and answer a valid check; a refused token raises DRF's 401/403."""
    started = perf_counter()
    scopes = sorted(set(data["scopes"]))
    try:
        decision = services.check_consent(
            caller=organization,
            subject_ref=data["subject_ref"],
            purpose_code=data["purpose"],
            scope_codes=scopes,
            counterparty=data.get("counterparty"),
            data_from=data.get("data_from"),
            data_to=data.get("data_to"),
            credential=credential,
        )
    except (CredentialRejectedError, OrganizationSuspendedError) as refused:
        OrganizationAuthentication.forget(credential.checksum)
        if isinstance(refused, OrganizationSuspendedError):
            raise OrganizationSuspended() from refused
        raise AuthenticationFailed(refused.message) from refused
    token = (
        transfer_token(decision, purpose=data["purpose"], scopes=scopes)
        if decision.allowed
        else None
    )
    body = check_answer(decision, token)
    CHECKS.labels(
        "allowed" if decision.allowed else "denied", body["reason"] or ""
    ).inc()
    CHECK_SECONDS.observe(perf_counter() - started)
    return body


def fast_answer(view: "CheckView", request: HttpRequest) -> HttpResponse | None:
    """The check's response, or None when the request must take DRF's path."""
    meta = request.META
    if (
        request.method != "POST"
        or meta.get("CONTENT_TYPE") not in JSON_BODY
        or meta.get("HTTP_ACCEPT", "*/*") not in ANY_JSON
        or meta.get("QUERY_STRING")
        or not _small(meta.get("CONTENT_LENGTH", ""))
    ):
        return None
    checksum = bearer_checksum(request)
    resolved = OrganizationAuthentication.remembered(checksum) if checksum else None
    if resolved is None or not resolved[1].is_valid(view.required_scopes):
        return None
    try:
        data = plain_check_input(orjson.loads(request.body))
    except orjson.JSONDecodeError:
        return None
    if data is None:
        return None
    organization = resolved[0].organization
    try:
        wait = admit(view.throttle_scope, organization.code)
        if wait is not None:
            raise Throttled(wait)
        body = answer(
            organization, data, Credential(cast(str, checksum), *view.required_scopes)
        )
    except Exception as exc:
        return _drf_error(view, request, exc)
    response = HttpResponse(orjson.dumps(body), content_type=JSON)
    response["Allow"] = _allow(type(view))  # type: ignore[arg-type]  # mypy#11470
    return response


def _drf_error(view: APIView, request: HttpRequest, exc: Exception) -> HttpResponse:
    """The response DRF's path gives for `exc` (it re-raises what it cannot map)."""
    drf_request = view.initialize_request(request)
    view.request, view.headers = drf_request, view.default_response_headers
    return view.finalize_response(drf_request, view.handle_exception(exc))


def _small(content_length: str) -> bool:
    return content_length.isdigit() and 0 < int(content_length) <= MAX_FAST_BODY


@cache
def _allow(view_class: type[APIView]) -> str:
    """The `Allow` header DRF sets on every response of the view."""
    return ", ".join(view_class().allowed_methods)


class CheckView(OrganizationView):
    reconfirms_token = True  # check_consent's query confirms the credential
    required_scopes = ["consents:check"]
    throttle_scope = "check"
    # Every check is a new decision: replaying an earlier allow to a retry that
    # starts after a revocation would break "no allow after revoke".
    idempotent = False

    def dispatch(self, request, *args, **kwargs):
        return fast_answer(self, request) or super().dispatch(request, *args, **kwargs)

    @extend_schema(request=CheckInputSerializer, responses=CheckOutputSerializer)
    def post(self, request: Request) -> Response:
        """May the caller process this data? Denials are answers, not errors."""
        data = valid_check_input(request.data)
        # request.auth: the AccessToken that OrganizationAuthentication resolved.
        credential = Credential(request.auth.token_checksum, *self.required_scopes)  # type: ignore[union-attr]
        body = answer(self.organization, data, credential)
        return Response(body)
