"""Django integration for a recipient's own project: check before the view runs.

    CMP_CLIENT = {"base_url": "https://cmp.example", "client_id": "…",
                  "client_secret": "…"}

    @consent_required(purpose="spending-analysis", scopes=["bank.deposit"],
                      subject_ref=lambda request: request.user.customer_ref)
    def statement(request): ...   # request.consent_decision is the allowed check

A denied check answers 403 before the view runs; if the platform cannot be
reached the answer is 503: the check fails closed, never open. `webhook_view`
verifies notices (Standard Webhooks) and hands each to its handler.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from cmp.client.client import ConsentClient
from cmp.client.errors import CMPError
from cmp.client.models import CheckResult
from cmp.client.webhooks import WebhookVerificationError, verify_webhook

SubjectRef = Callable[[HttpRequest], str]
_clients: dict[tuple[tuple[str, str], ...], ConsentClient] = {}


def get_client() -> ConsentClient:
    """One client per process from `settings.CMP_CLIENT` (connections reused)."""
    options = dict(settings.CMP_CLIENT)  # type: ignore[misc]  # a host setting
    key = tuple(sorted((k, str(v)) for k, v in options.items()))
    if key not in _clients:
        _clients[key] = ConsentClient(**options)
    return _clients[key]


class ConsentDenied(Exception):
    """The check said no (`result`), or could not be made (`error`)."""

    def __init__(
        self, result: CheckResult | None = None, error: CMPError | None = None
    ):
        super().__init__(result.reason if result else str(error))
        self.result = result
        self.error = error

    def response(self) -> JsonResponse:
        if self.result is None:
            body: dict[str, Any] = {
                "code": "consent_check_unavailable",
                "message": str(self.error),
            }
            return JsonResponse({"error": body}, status=503)
        body = {
            "code": "consent_denied",
            "message": "no consent allows this",
            "reason": self.result.reason,
            "missing_scopes": self.result.missing_scopes,
        }
        return JsonResponse({"error": body}, status=403)


def check_request(
    request: HttpRequest,
    *,
    purpose: str,
    scopes: Sequence[str],
    subject_ref: SubjectRef,
    counterparty: str | Callable[[HttpRequest], str | None] | None = None,
    client: ConsentClient | None = None,
) -> CheckResult:
    """Check for this request; the allowed result is kept as `consent_decision`."""
    other = counterparty(request) if callable(counterparty) else counterparty
    try:
        result = (client or get_client()).check(
            subject_ref=subject_ref(request),
            purpose=purpose,
            scopes=scopes,
            counterparty=other,
        )
    except CMPError as exc:
        raise ConsentDenied(error=exc) from exc
    if not result.allowed:
        raise ConsentDenied(result=result)
    request.consent_decision = result  # type: ignore[attr-defined]  # for the view
    return result


def consent_required(
    *,
    purpose: str,
    scopes: Sequence[str],
    subject_ref: SubjectRef,
    counterparty: str | Callable[[HttpRequest], str | None] | None = None,
    client: ConsentClient | None = None,
) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """Decorate a view so it runs only after an allowed check."""

    def decorate(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @functools.wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            try:
                check_request(
                    request,
                    purpose=purpose,
                    scopes=scopes,
                    subject_ref=subject_ref,
                    counterparty=counterparty,
                    client=client,
                )
            except ConsentDenied as denied:
                return denied.response()
            return view(request, *args, **kwargs)

        return wrapped

    return decorate


Handler = Callable[[dict[str, Any]], Any]


def webhook_view(
    handlers: Mapping[str, Handler],
    *,
    secret: str | None = None,
    tolerance: int = 300,
) -> Callable[[HttpRequest], HttpResponse]:
    """A view that verifies each notice, then calls the handler of its type.

    `secret` defaults to `settings.CMP_WEBHOOK_SECRET`. Answers 204 when handled
    (or when no handler wants the type), 400 when the signature does not verify.
    A handler that raises makes the answer 500, so the platform retries; the
    `webhook-id` (in `payload["webhook_id"]`) lets handlers skip repeats.
    """

    @csrf_exempt
    @require_POST
    def view(request: HttpRequest) -> HttpResponse:
        key = secret or settings.CMP_WEBHOOK_SECRET  # type: ignore[misc]  # a host setting
        try:
            payload = verify_webhook(
                request.headers, request.body, key, tolerance=tolerance
            )
        except (WebhookVerificationError, json.JSONDecodeError) as exc:
            return JsonResponse(
                {"error": {"code": "invalid_signature", "message": str(exc)}},
                status=400,
            )
        payload["webhook_id"] = request.headers.get("webhook-id")
        handler = handlers.get(payload.get("type", ""))
        if handler is not None:
            handler(payload)
        return HttpResponse(status=204)

    return view
