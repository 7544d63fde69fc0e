"""Scope coverage: a granted scope covers itself and its descendants.

A sensitive scope, and everything below it, is covered only by a grant at or
below that sensitive scope: granting `insurance` never silently grants
`insurance.health` when the latter is flagged sensitive.
"""

from collections.abc import Collection, Iterable


def ancestors_and_self(code: str) -> list[str]:
    parts = code.split(".")
    return [".".join(parts[: i + 1]) for i in range(len(parts))]


def is_within(code: str, ancestor: str) -> bool:
    return code == ancestor or code.startswith(ancestor + ".")


def nearest_sensitive(code: str, sensitive: Collection[str]) -> str | None:
    for candidate in reversed(ancestors_and_self(code)):
        if candidate in sensitive:
            return candidate
    return None


def is_covered(
    requested: str, granted: Iterable[str], sensitive: Collection[str]
) -> bool:
    boundary = nearest_sensitive(requested, sensitive)
    return any(
        is_within(requested, grant) and (boundary is None or is_within(grant, boundary))
        for grant in granted
    )


def missing_scopes(
    requested: Iterable[str], granted: Collection[str], sensitive: Collection[str]
) -> list[str]:
    return sorted(
        {code for code in requested if not is_covered(code, granted, sensitive)}
    )
