"""Machines read the API in English unless they ask for another language.

Browsers always say which languages a person reads; an API client usually says
nothing, and then gets English (not the site's Korean default): error messages
are matched and logged by programs. A client that sends `Accept-Language` gets
that language, as a person does.
"""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils import translation

# The organization and person APIs, and the OAuth endpoints machines call.
MACHINE_PATHS = ("/api/", "/o/token/", "/o/revoke_token/", "/o/introspect/")


class MachineLanguageMiddleware:
    """After `LocaleMiddleware`: English for machine paths that name no language."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if "HTTP_ACCEPT_LANGUAGE" not in request.META and request.path_info.startswith(
            MACHINE_PATHS
        ):
            translation.activate("en")
            request.LANGUAGE_CODE = "en"
        return self.get_response(request)
