"""The project's URLs plus `/bench/bare/`, a view with no database: the baseline.

Used only by the benchmark's settings (`bench.settings_bench`); production code
gets no benchmark route.
"""

from django.http import HttpRequest, JsonResponse
from django.urls import include, path


def bare_view(request: HttpRequest) -> JsonResponse:
    """A small JSON answer through the full middleware stack, with no queries."""
    return JsonResponse({"ok": True})


urlpatterns = [
    path("bench/bare/", bare_view, name="bench-bare"),
    path("", include("config.urls")),
]

handler404 = "config.views.not_found"
handler500 = "config.views.server_error"
