"""Project-level pages: the landing page, the probes and the metrics."""

import ipaddress
import secrets

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.defaults import page_not_found
from django.views.defaults import server_error as default_server_error
from prometheus_client import CONTENT_TYPE_LATEST

from api.errors import error_body
from audit.signing import jwks
from config import health


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "home.html")


def jwks_view(request: HttpRequest) -> JsonResponse:
    """Public keys for receipts and transfer tokens, for offline verification."""
    response = JsonResponse(jwks())
    response["Cache-Control"] = "public, max-age=300"
    return response


def _wants_json(request: HttpRequest) -> bool:
    return request.path.startswith(("/api/", "/o/", "/.well-known/"))


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """API paths answer in the API's error format, pages in HTML."""
    if _wants_json(request):
        return JsonResponse(error_body("not_found", "Not found."), status=404)
    return page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    if _wants_json(request):
        return JsonResponse(error_body("server_error", "Server error."), status=500)
    return default_server_error(request)


def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness and database reachability, for load balancers and `make run`."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})


def readyz(request: HttpRequest) -> JsonResponse:
    """Readiness: 200 when every probe passes, 503 naming the ones that fail."""
    probes = health.readiness()
    ready = all(p.ok for p in probes)
    body = {
        "status": "ready" if ready else "not_ready",
        "checks": {p.name: {"ok": p.ok, "detail": p.detail} for p in probes},
    }
    return JsonResponse(body, status=200 if ready else 503)


def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus metrics, for the scraper only: with `CMP_METRICS_TOKEN` set,
    its bearer token; otherwise a loopback or private address."""
    token = settings.CMP_METRICS_TOKEN
    if token:
        given = request.META.get("HTTP_AUTHORIZATION", "").removeprefix("Bearer ")
        if not secrets.compare_digest(given.encode(), token.encode()):
            return JsonResponse(
                error_body("unauthorized", "Token required."), status=401
            )
    elif not ipaddress.ip_address(
        request.META.get("REMOTE_ADDR", "0.0.0.0")
    ).is_private:
        return JsonResponse(error_body("forbidden", "Not from here."), status=403)
    return HttpResponse(health.exposition(), content_type=CONTENT_TYPE_LATEST)
