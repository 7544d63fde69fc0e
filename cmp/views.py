"""Project-level pages: the landing page and a health probe."""

from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from audit.signing import jwks


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "home.html")


def jwks_view(request: HttpRequest) -> JsonResponse:
    """Public keys for receipts and transfer tokens, for offline verification."""
    response = JsonResponse(jwks())
    response["Cache-Control"] = "public, max-age=300"
    return response


def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness and database reachability, for load balancers and `make run`."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})
