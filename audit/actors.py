"""Who did something, written into audit events and consent records as a string."""

from dataclasses import dataclass
from typing import Literal

ActorKind = Literal["subject", "organization", "staff", "system"]


@dataclass(frozen=True, slots=True)
class Actor:
    kind: ActorKind
    id: str

    def __str__(self) -> str:
        return f"{self.kind}:{self.id}"

    @classmethod
    def parse(cls, recorded: str) -> "Actor":
        """The actor written as `str(actor)` (a job that acts later for them)."""
        kind, _, ident = recorded.partition(":")
        if kind not in ("subject", "organization", "staff", "system"):
            raise ValueError(f"not an actor: {recorded!r}")
        return cls(kind, ident)  # type: ignore[arg-type]  # checked just above


SYSTEM = Actor("system", "cmp")


def staff_actor(user) -> Actor:
    """A signed-in staff member, named by their username."""
    return Actor("staff", user.get_username())
