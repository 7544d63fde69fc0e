from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from api.authentication import OrganizationPrincipal


class OrganizationRateThrottle(SimpleRateThrottle):
    """Per-organization rate on a route group named by the view's `throttle_scope`."""

    def __init__(self) -> None:
        # The rate depends on the view, so it is read in allow_request.
        pass

    def allow_request(self, request, view) -> bool:
        self.scope = getattr(view, "throttle_scope", None)
        if not self.scope:
            return True
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)

    def get_rate(self) -> str | None:
        # Read at call time so that a changed setting applies without a restart.
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)

    def get_cache_key(self, request, view) -> str | None:
        if not isinstance(request.user, OrganizationPrincipal):
            return None
        return f"throttle:{self.scope}:{request.user.organization.code}"
