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
    """A staff member, signed in to the site or by a token with `audit:read`."""

    def has_permission(self, request, view) -> bool:
        user = request.user
        if not (getattr(user, "is_staff", False) and user.is_active):
            return False
        token = request.auth
        return token is None or token.allow_scopes(["audit:read"])
