"""Domain errors: each carries a stable machine-readable code for the API layer."""


class ConsentError(Exception):
    code = "consent_error"

    def __init__(self, message: str, *, fields: dict[str, list[str]] | None = None):
        super().__init__(message)
        self.message = message
        self.fields = fields or {}

    def sentence(self) -> str:
        """One line for a person at a terminal: what was refused, and why."""
        if not self.fields:
            return f"{self.message[:1].upper()}{self.message[1:]}."
        why = "; ".join(
            f"{name}: {', '.join(str(p).rstrip('.') for p in problems)}"
            for name, problems in self.fields.items()
        )
        return f"{self.message[:1].upper()}{self.message[1:]} ({why})."


class ConsentImmutableError(ConsentError):
    code = "consent_immutable"


class InvalidTransitionError(ConsentError):
    code = "invalid_transition"


class ConsentNotActiveError(ConsentError):
    """A transfer or action needs an active consent, and this one is not."""

    code = "consent_not_active"

    def __init__(self, message: str, *, reason: str):
        super().__init__(message)
        self.reason = reason


class ValidationError(ConsentError):
    code = "invalid"


class NotFoundError(ConsentError):
    """The object does not exist for this caller (never says whether it exists)."""

    code = "not_found"


class PurposeVersionFrozenError(ConsentError):
    code = "purpose_version_frozen"


class SubjectErasedError(ConsentError):
    code = "subject_erased"


class ConsentStillLiveError(ConsentError):
    """Something that needs an ended consent was asked of a live one."""

    code = "consent_live"


class CredentialRejectedError(ConsentError):
    """The caller's access token was revoked, expired or lost its scope."""

    code = "invalid_token"


class OrganizationSuspendedError(ConsentError):
    code = "organization_suspended"
