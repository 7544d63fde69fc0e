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


SYSTEM = Actor("system", "cmp")


def staff_actor(user) -> Actor:
    """A signed-in staff member, named by their username."""
    return Actor("staff", user.get_username())
