"""Project-level pages: the landing page and a health probe."""

from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.defaults import page_not_found
from django.views.defaults import server_error as default_server_error

from api.errors import error_body
from audit.signing import jwks


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
