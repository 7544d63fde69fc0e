from oauth2_provider.contrib.rest_framework import TokenHasScope
from rest_framework.permissions import BasePermission

from api.authentication import OrganizationPrincipal


class IsOrganization(BasePermission):
    """Only organizations' client-credentials tokens reach the organization API."""

    def has_permission(self, request, view) -> bool:
        return isinstance(request.user, OrganizationPrincipal)


ORGANIZATION_SCOPED = [IsOrganization, TokenHasScope]
