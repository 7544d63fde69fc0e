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


# Hand-written because it runs on every API call: one indexed lookup, no ORM
# query compilation. Model field converters still apply (Manager.raw).
_TOKEN_SQL = """
SELECT t.id, t.token_checksum, t.expires, t.scope, t.application_id,
       o.id AS org_id, o.code AS org_code, o.name AS org_name, o.status AS org_status
FROM oauth2_provider_accesstoken t
LEFT JOIN consents_organizationclient c ON c.application_id = t.application_id
LEFT JOIN consents_organization o ON o.id = c.organization_id
WHERE t.token_checksum = %s
"""


def bearer_checksum(request) -> str | None:
    """The stored checksum of the request's bearer token, if it has one."""
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return hashlib.sha256(token.strip().encode("utf-8")).hexdigest()


class OrganizationAuthentication(BaseAuthentication):
    """A valid, unexpired, unrevoked token of an active organization."""

    keyword = "Bearer"

    def authenticate(self, request):
        checksum = bearer_checksum(request)
        if checksum is None:
            return None
        rows = list(get_access_token_model().objects.raw(_TOKEN_SQL, [checksum]))
        access_token = rows[0] if rows else None
        if access_token is None or access_token.expires <= timezone.now():
            raise exceptions.AuthenticationFailed("the access token is not valid")
        if access_token.org_id is None:
            raise exceptions.AuthenticationFailed(
                "the client belongs to no organization"
            )
        organization = Organization(
            id=access_token.org_id,
            code=access_token.org_code,
            name=access_token.org_name,
            status=access_token.org_status,
        )
        if not organization.is_active:
            raise OrganizationSuspended()
        return OrganizationPrincipal(organization), access_token

    def authenticate_header(self, request) -> str:
        return f'{self.keyword} realm="api"'


class OfficerTokenAuthentication(BaseAuthentication):
    """A valid token acting for a staff member: issued to them, or to an OAuth
    application they own (client credentials). Organizations' clients never
    qualify, whatever scopes they asked for: the trail names every organization.
    """

    keyword = "Bearer"

    def authenticate(self, request):
        checksum = bearer_checksum(request)
        if checksum is None:
            return None
        access_token = (
            get_access_token_model()
            .objects.select_related("user", "application__user")
            .filter(token_checksum=checksum)
            .first()
        )
        if access_token is None or access_token.is_expired():
            raise exceptions.AuthenticationFailed("the access token is not valid")
        application = access_token.application
        if application is not None and hasattr(application, "organization_client"):
            raise exceptions.PermissionDenied(
                "organizations cannot read the audit trail"
            )
        user = access_token.user or (application.user if application else None)
        if user is None or not (user.is_active and user.is_staff):
            raise exceptions.PermissionDenied(
                "the token does not act for a staff member"
            )
        return user, access_token

    def authenticate_header(self, request) -> str:
        return f'{self.keyword} realm="audit"'
