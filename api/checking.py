"""`POST /api/v1/checks/`: the answer, and the fast path most checks take.

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

from functools import cache
from typing import Any

import orjson
from django.http import HttpRequest, HttpResponse
from rest_framework.exceptions import AuthenticationFailed, Throttled
from rest_framework.views import APIView

from api.authentication import (
    OrganizationAuthentication,
    OrganizationSuspended,
    bearer_checksum,
)
from api.negotiation import ANY_JSON, JSON, JSON_BODY
from api.serializers import check_answer, plain_check_input
from api.throttling import admit
from consents import services
from consents.errors import CredentialRejectedError, OrganizationSuspendedError
from consents.models import Organization
from consents.receipts import transfer_token
from consents.services.checks import Credential

# Check bodies are a few hundred bytes; a larger one takes DRF's path.
MAX_FAST_BODY = 16 * 1024


def answer(
    organization: Organization, data: dict[str, Any], credential: Credential
) -> dict:
    """Decide, audit and answer a valid check; a refused token raises DRF's 401/403."""
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
    return check_answer(decision, token)


def fast_answer(view: APIView, request: HttpRequest) -> HttpResponse | None:
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
        body = answer(organization, data, Credential(checksum, *view.required_scopes))
    except Exception as exc:
        return _drf_error(view, request, exc)
    response = HttpResponse(orjson.dumps(body), content_type=JSON)
    response["Allow"] = _allow(type(view))
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
