from oauth2_provider.contrib.rest_framework import TokenHasScope
from rest_framework.permissions import BasePermission

from api.authentication import OrganizationPrincipal, PersonPrincipal


class IsOrganization(BasePermission):
    """Only organizations' client-credentials tokens reach the organization API."""

    def has_permission(self, request, view) -> bool:
        return isinstance(request.user, OrganizationPrincipal)


class IsPerson(BasePermission):
    """Only tokens a person granted to an app reach `/api/v1/me/`."""

    def has_permission(self, request, view) -> bool:
        return isinstance(request.user, PersonPrincipal)


ORGANIZATION_SCOPED = [IsOrganization, TokenHasScope]
PERSON_SCOPED = [IsPerson, TokenHasScope]


class IsAuditOfficer(BasePermission):
    """A staff member: signed in to the site with their second factor, or by a
    token with the view's scope (`audit:read` unless it names another)."""

    def has_permission(self, request, view) -> bool:
        user = request.user
        if not (getattr(user, "is_staff", False) and user.is_active):
            return False
        token = request.auth
        if token is None:  # a session: as on the officers' pages
            return bool(getattr(user, "is_verified", lambda: False)())
        return token.allow_scopes(getattr(view, "required_scopes", ["audit:read"]))
