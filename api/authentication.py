"""OAuth 2.0 bearer tokens, resolved to the organization that owns the client.

One query per request finds the token, its client and its organization, so a
revoked token (deleted by django-oauth-toolkit) or a suspended organization is
refused from the very next call. The check alone remembers tokens it has seen,
because its decision query reads the token and the organization again.
"""

import hashlib
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.contrib.auth.models import AbstractBaseUser
from django.utils import timezone
from oauth2_provider.contrib.rest_framework import OAuth2Authentication
from oauth2_provider.models import get_access_token_model
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication

from consents.models import DataSubject, Organization
from consents.selectors import token_owner

if TYPE_CHECKING:
    from oauth2_provider.models import AccessToken
else:
    AccessToken = get_access_token_model()


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


def bearer_checksum(request) -> str | None:
    """The stored checksum of the request's bearer token, if it has one."""
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return hashlib.sha256(token.strip().encode("utf-8")).hexdigest()


class OrganizationAuthentication(BaseAuthentication):
    """A valid, unexpired, unrevoked token of an active organization.

    A view whose own query confirms the token again (the check: its decision
    query reads the token and the organization's status in the same round trip)
    sets `reconfirms_token`; for it, a token this process already resolved skips
    the lookup, and a token revoked or an organization suspended a moment ago is
    still refused on its very next call. Entries leave at the token's expiry, when
    such a view finds the token refused (`forget`), or the oldest first.
    """

    keyword = "Bearer"
    max_remembered = 4096

    def authenticate(self, request):
        checksum = bearer_checksum(request)
        if checksum is None:
            return None
        view = request.parser_context.get("view")
        if not getattr(view, "reconfirms_token", False):
            return self.resolve(checksum)
        remembered = self.remembered(checksum)
        if remembered is not None:
            return remembered
        resolved = self.resolve(checksum)
        with _RESOLVED_LOCK:
            _RESOLVED[checksum] = resolved
            while len(_RESOLVED) > self.max_remembered:
                _RESOLVED.pop(next(iter(_RESOLVED)))
        return resolved

    @staticmethod
    def remembered(checksum: str) -> tuple[OrganizationPrincipal, AccessToken] | None:
        """What this process resolved the token to, while it has not expired."""
        remembered = _RESOLVED.get(checksum)
        if remembered is not None and remembered[1].expires > timezone.now():
            return remembered
        return None

    @staticmethod
    def forget(checksum: str) -> None:
        with _RESOLVED_LOCK:
            _RESOLVED.pop(checksum, None)

    def resolve(self, checksum: str) -> tuple[OrganizationPrincipal, AccessToken]:
        found = token_owner(checksum)
        if found is None or found.expires <= timezone.now():
            raise exceptions.AuthenticationFailed("the access token is not valid")
        if found.organization is None:
            raise exceptions.AuthenticationFailed(
                "the client belongs to no organization"
            )
        if not found.organization.is_active:
            raise OrganizationSuspended()
        # Unsaved, but with what TokenHasScope and the views read.
        access_token = AccessToken(
            id=found.token_id,
            token_checksum=found.token_checksum,
            expires=found.expires,
            scope=found.scope,
            application_id=found.application_id,
        )
        return OrganizationPrincipal(found.organization), access_token

    def authenticate_header(self, request) -> str:
        return f'{self.keyword} realm="api"'


# checksum → (principal, token), oldest first; shared by the process's threads.
_RESOLVED: dict[str, tuple[OrganizationPrincipal, AccessToken]] = {}
_RESOLVED_LOCK = threading.Lock()


@dataclass(frozen=True)
class PersonPrincipal:
    """`request.user` for a token an app holds for one person."""

    user: AbstractBaseUser
    subject: DataSubject
    is_authenticated: bool = True
    is_anonymous: bool = False

    def __str__(self) -> str:
        return f"subject:{self.subject.pseudonym}"


class PersonAuthentication(OAuth2Authentication):
    """A token the person granted an app (authorization code with PKCE).

    Client-credentials tokens act for no person and are refused here, as person
    tokens are refused by the organization API (their client has no organization).
    """

    def authenticate(self, request):
        result = super().authenticate(request)
        if result is None:
            return None
        user, token = result
        subject = (
            DataSubject.objects.filter(user=user).first() if user is not None else None
        )
        if subject is None:
            raise exceptions.AuthenticationFailed("the token does not act for a person")
        return PersonPrincipal(user, subject), token


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
            AccessToken.objects.select_related("user", "application__user")
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
