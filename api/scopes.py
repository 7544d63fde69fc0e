"""Which OAuth scopes a client may ask for, by the kind of client it is.

An organization's client (client credentials) acts for the organization and gets
the organization scopes; an app a person signs in to (authorization code with
PKCE) acts for that person and gets only `me:read` and `me:write`. Neither kind
can obtain a token for the other's API, whatever scope string it sends.
"""

from django.utils.translation import gettext_lazy as _
from oauth2_provider.models import AbstractApplication
from oauth2_provider.scopes import SettingsScopes
from oauth2_provider.settings import oauth2_settings

PERSON_SCOPES = ("me:read", "me:write")

# Shown to the person on the authorization page, in their language.
_PERSON_SCOPE_DESCRIPTIONS = {
    "me:read": _("See your consents and who checked or received your data"),
    "me:write": _("Revoke your consents"),
}


class ClientKindScopes(SettingsScopes):
    def get_all_scopes(self) -> dict:
        return {**oauth2_settings.SCOPES, **_PERSON_SCOPE_DESCRIPTIONS}

    def get_available_scopes(self, application=None, request=None, *args, **kwargs):
        every = list(oauth2_settings.SCOPES)
        if application is None:
            return every
        acts_for_person = (
            application.authorization_grant_type
            == AbstractApplication.GRANT_AUTHORIZATION_CODE
        )
        return [scope for scope in every if (scope in PERSON_SCOPES) == acts_for_person]
