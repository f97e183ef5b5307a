"""Who sees and who may change what agents keep for themselves or share: saved views,
canned replies and macros are each personal, shared with one team, or shared with everyone.

- personal: only its owner sees and changes it;
- team: the team's members see it; members and supervisors/admins create it; supervisors,
  admins and the owner (while still a member) change it;
- everyone: every agent sees it; only supervisors and admins create or change it.

Supervisors and admins see every team's shared items, so they can keep them tidy.
"""

from __future__ import annotations

from typing import Any, Literal, Protocol

from sqlalchemy import ColumnElement, and_, or_

from app.auth.actor import Actor
from app.errors import PermissionDenied, ValidationFailed

Visibility = Literal["personal", "team", "everyone"]
VISIBILITIES = ("personal", "team", "everyone")


class Shared(Protocol):
    owner_id: int | None
    visibility: str
    team_id: int | None


def visible_to(model: Any, actor: Actor) -> ColumnElement[bool]:
    """The rows of `model` (a table with owner_id, visibility, team_id) the actor sees."""
    mine = and_(model.visibility == "personal", model.owner_id == actor.agent_id)
    everyone = model.visibility == "everyone"
    if actor.sees_all_tickets:
        return or_(mine, everyone, model.visibility == "team")
    teams = and_(model.visibility == "team", model.team_id.in_(sorted(actor.team_ids)))
    return or_(mine, everyone, teams)


def check_sharing(actor: Actor, visibility: str, team_id: int | None) -> None:
    """May the actor keep an item with this visibility (creating it or moving it there)?"""
    if visibility == "team":
        if team_id is None:
            raise ValidationFailed.field("team_id", "a view shared with a team names the team")
        if not actor.sees_all_tickets and team_id not in actor.team_ids:
            raise PermissionDenied("you can share only with a team you belong to")
    elif team_id is not None:
        raise ValidationFailed.field("team_id", f"only a team item names a team ({visibility})")
    if visibility == "everyone" and not actor.sees_all_tickets:
        raise PermissionDenied("sharing with everyone requires the role supervisor or admin")


def can_change(actor: Actor, item: Shared) -> bool:
    if item.visibility == "personal":
        return item.owner_id == actor.agent_id
    if actor.sees_all_tickets:
        return True
    return (
        item.visibility == "team"
        and item.owner_id == actor.agent_id
        and item.team_id in actor.team_ids
    )


def check_can_change(actor: Actor, item: Shared, what: str) -> None:
    if not can_change(actor, item):
        raise PermissionDenied(f"you may use this {what} but not change it")
