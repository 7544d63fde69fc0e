"""OpenAPI details drf-spectacular cannot infer: auth, errors, strict request bodies."""

from django.conf import settings
from drf_spectacular.extensions import OpenApiAuthenticationExtension

from api.scopes import PERSON_SCOPES

_ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "fields"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "fields": {"type": "object", "additionalProperties": True},
            },
        }
    },
}
_ERROR_STATUSES = {
    "400": "Invalid request: the fields say what is wrong.",
    "401": "No valid access token.",
    "403": "The token lacks the scope, or the organization is suspended.",
    "404": "Not found, or not one of the caller's objects.",
    "405": "Method not allowed.",
    "409": "The consent's state does not allow this.",
    "429": "Too many requests; retry after `Retry-After` seconds.",
}
# Only where the operation takes an Idempotency-Key.
_KEY_REUSED = "The Idempotency-Key was used before for another request."


class OrganizationAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "api.authentication.OrganizationAuthentication"
    name = "oauth2"

    def get_security_requirement(self, auto_schema):
        scopes = getattr(auto_schema.view, "required_scopes", [])
        return {self.name: list(scopes) if isinstance(scopes, list) else []}

    def get_security_definition(self, auto_schema):
        return {
            "type": "oauth2",
            "flows": {
                "clientCredentials": {
                    "tokenUrl": "/o/token/",
                    "scopes": _scopes(person=False),
                }
            },
        }


class PersonAuthenticationScheme(OrganizationAuthenticationScheme):
    target_class = "api.authentication.PersonAuthentication"
    name = "personOAuth2"
    # Ahead of drf-spectacular's own extension for the parent class.
    priority = 1

    def get_security_definition(self, auto_schema):
        return {
            "type": "oauth2",
            "description": "An app the person signed in to; PKCE (S256) required.",
            "flows": {
                "authorizationCode": {
                    "authorizationUrl": "/o/authorize/",
                    "tokenUrl": "/o/token/",
                    "scopes": _scopes(person=True),
                }
            },
        }


def _scopes(*, person: bool) -> dict[str, str]:
    return {
        scope: description
        for scope, description in settings.OAUTH2_PROVIDER["SCOPES"].items()
        if (scope in PERSON_SCOPES) == person
    }


def add_error_responses(result, generator, request, public):
    """Every API operation may answer with the common error body."""
    components = result.setdefault("components", {}).setdefault("schemas", {})
    components["Error"] = _ERROR_SCHEMA
    reference = {"$ref": "#/components/schemas/Error"}
    for path, operations in result.get("paths", {}).items():
        if not path.startswith("/api/v1/") or path.endswith(("/schema/", "/docs/")):
            continue
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            statuses = dict(_ERROR_STATUSES)
            headers = {p["name"] for p in operation.get("parameters", ())}
            if "Idempotency-Key" in headers:
                statuses["422"] = _KEY_REUSED
            for status, description in statuses.items():
                responses.setdefault(
                    status,
                    {
                        "description": description,
                        "content": {"application/json": {"schema": reference}},
                    },
                )
    for name, schema in components.items():
        # Request bodies refuse unknown fields (StrictInputSerializer).
        if name.endswith("Request") and schema.get("type") == "object":
            schema["additionalProperties"] = False
    return result


class OfficerAuthenticationScheme(OrganizationAuthenticationScheme):
    """Staff members' tokens: a client they own, with `audit:read` (and
    `organizations:manage` to suspend and reactivate organizations)."""

    target_class = "api.authentication.OfficerTokenAuthentication"
    name = "officerOAuth2"

    def get_security_definition(self, auto_schema):
        definition = super().get_security_definition(auto_schema)
        flow = definition["flows"]["clientCredentials"]
        flow["scopes"] = {
            name: flow["scopes"][name]
            for name in ("audit:read", "organizations:manage")
        }
        return definition
