"""OAuth 2.0 bearer tokens, resolved to the organization that owns the client."""

from dataclasses import dataclass

from oauth2_provider.contrib.rest_framework import OAuth2Authentication
from rest_framework import exceptions

from consents.models import Organization, OrganizationClient


@dataclass(frozen=True)
class OrganizationPrincipal:
    """`request.user` for an organization's client-credentials token."""

    organization: Organization
    is_authenticated: bool = True
    is_anonymous: bool = False

    def __str__(self) -> str:
        return f"organization:{self.organization.code}"


class OrganizationSuspended(exceptions.PermissionDenied):
    default_detail = "the organization is suspended"
    default_code = "organization_suspended"


class OrganizationAuthentication(OAuth2Authentication):
    """A valid, unrevoked token of an active organization, checked on every call."""

    def authenticate(self, request):
        result = super().authenticate(request)
        if result is None:
            return None
        _, token = result
        link = (
            OrganizationClient.objects.select_related("organization")
            .filter(application_id=token.application_id)
            .first()
        )
        if link is None:
            raise exceptions.AuthenticationFailed(
                "the client belongs to no organization"
            )
        if not link.organization.is_active:
            raise OrganizationSuspended()
        return OrganizationPrincipal(link.organization), token
