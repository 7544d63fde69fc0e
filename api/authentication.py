"""OAuth 2.0 bearer tokens, resolved to the organization that owns the client.

One query per request finds the token, its client and its organization. Nothing is
cached: a revoked token (deleted by django-oauth-toolkit) or a suspended
organization is refused from the very next call.
"""

import hashlib
from dataclasses import dataclass

from django.utils import timezone
from oauth2_provider.models import get_access_token_model
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication

from consents.models import Organization


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


class OrganizationAuthentication(BaseAuthentication):
    """A valid, unexpired, unrevoked token of an active organization."""

    keyword = "Bearer"

    def authenticate(self, request):
        header = request.META.get("HTTP_AUTHORIZATION", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != self.keyword.lower() or not token.strip():
            return None
        checksum = hashlib.sha256(token.strip().encode("utf-8")).hexdigest()
        access_token = (
            get_access_token_model()
            .objects.select_related("application__organization_client__organization")
            .filter(token_checksum=checksum)
            .first()
        )
        if access_token is None or access_token.expires <= timezone.now():
            raise exceptions.AuthenticationFailed("the access token is not valid")
        link = getattr(access_token.application, "organization_client", None)
        if link is None:
            raise exceptions.AuthenticationFailed(
                "the client belongs to no organization"
            )
        if not link.organization.is_active:
            raise OrganizationSuspended()
        return OrganizationPrincipal(link.organization), access_token

    def authenticate_header(self, request) -> str:
        return f'{self.keyword} realm="api"'
