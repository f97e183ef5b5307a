"""Who is calling, and the role rules every service checks against."""

from __future__ import annotations

from dataclasses import dataclass

from app.errors import PermissionDenied


@dataclass(frozen=True)
class Actor:
    agent_id: int
    role: str
    team_ids: frozenset[int]
    scopes: frozenset[str]
    token_id: int | None = None
    via: str = "bearer"  # "bearer" or "cookie"
    # Signed in, but must enrol a second factor before anything else (app.auth.two_factor).
    two_factor_pending: bool = False

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def sees_all_tickets(self) -> bool:
        return self.role in {"admin", "supervisor"}


def require_role(actor: Actor, *roles: str) -> None:
    if actor.role not in roles:
        raise PermissionDenied(f"this requires the role {' or '.join(roles)}")


def require_admin(actor: Actor) -> None:
    require_role(actor, "admin")


def require_supervisor(actor: Actor) -> None:
    require_role(actor, "admin", "supervisor")
