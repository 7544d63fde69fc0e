from collections.abc import Callable
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.http import HttpRequest, HttpResponse
from django.utils import timezone

# The signed-in person's time zone, copied into the session at sign-in and when
# they change it, so no request needs a query to know it.
SESSION_TIME_ZONE = "portal_time_zone"


class PersonTimeZoneMiddleware:
    """Render dates in the person's time zone; TIME_ZONE when they chose none."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        name = request.session.get(SESSION_TIME_ZONE, "")
        try:
            zone = ZoneInfo(name) if name else None
        except (ZoneInfoNotFoundError, ValueError):
            zone = None
        with timezone.override(zone):
            return self.get_response(request)
