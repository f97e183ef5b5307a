"""What a policy does when a target warns, breaches or is met: raise the priority, add a
tag, reassign (through the lifecycle, as the system), and name whom to notify (carried
in the event, which reaches the socket of everyone who may see the ticket)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.agents.models import Agent, Team
from app.tickets.events import SYSTEM
from app.tickets.lifecycle import change_ticket
from app.tickets.models import PRIORITIES, Ticket


def notify_list(actions: Sequence[dict[str, Any]]) -> list[dict[str, int]]:
    return [
        {k: v for k, v in a.items() if k in {"agent_id", "team_id"} and v is not None}
        for a in actions
        if a.get("type") == "notify"
    ]


async def _exists(session: AsyncSession, model: type[Agent] | type[Team], id_: Any) -> bool:
    if not isinstance(id_, int):
        return False
    conditions = [model.id == id_]
    if model is Agent:
        conditions.append(Agent.is_active.is_(True))
    return await session.scalar(select(model.id).where(*conditions)) is not None


async def apply_actions(
    session: AsyncSession,
    ticket: Ticket,
    actions: Sequence[dict[str, Any]],
    *,
    kind: str,
    metric: str,
    now: datetime,
) -> None:
    """The field changes of `actions` as one `ticket.updated` by the system. An agent or
    team that no longer exists is left out rather than failing the event."""
    values: dict[str, Any] = {}
    for action in actions:
        match action.get("type"):
            case "raise_priority":
                current = values.get("priority", ticket.priority)
                index = PRIORITIES.index(current) if current in PRIORITIES else 0
                values["priority"] = PRIORITIES[min(index + 1, len(PRIORITIES) - 1)]
            case "add_tag":
                tags = values.get("tags", list(ticket.tags))
                tag = str(action.get("tag", "")).strip().lower()
                if tag and tag not in tags:
                    values["tags"] = [*tags, tag]
            case "reassign":
                if await _exists(session, Agent, action.get("agent_id")):
                    values["assignee_id"] = action["agent_id"]
                if await _exists(session, Team, action.get("team_id")):
                    values["team_id"] = action["team_id"]
    if values:
        extra = {"sla_action": {"kind": kind, "metric": metric}}
        await change_ticket(session, ticket, values, actor=SYSTEM, now=now, extra=extra)
