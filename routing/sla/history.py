"""A ticket's SLA history (`routing.core.sla_history`) read from its `ticket_events`.

Only what the clocks need is selected (the JSON fields, not whole payloads), so the same
query serves one ticket in a lifecycle hook and a hundred thousand after a calendar change.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Row, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.tickets.events import TicketEvent
from routing.core.sla_history import (
    AgentReply,
    CustomerMessage,
    DueOverride,
    HistoryEvent,
    PriorityChanged,
    StatusChanged,
    TeamChanged,
    TicketHistory,
)
from routing.core.sla_policy import Metric

DUE_OVERRIDDEN = "sla.due_overridden"
MESSAGE_TYPES = ("message.created", "message.moved")
CHANGE_TYPES = ("ticket.created", "ticket.updated", "ticket.merged")
READ_TYPES = (*MESSAGE_TYPES, *CHANGE_TYPES, DUE_OVERRIDDEN)

_data = TicketEvent.data
COLUMNS = (
    TicketEvent.ticket_id,
    TicketEvent.seq,
    TicketEvent.type,
    TicketEvent.at,
    _data["direction"].astext,
    _data["author_type"].astext,
    _data["internal"].astext,
    _data["changes"]["status"]["to"].astext,
    _data["changes"]["priority"]["to"].astext,
    _data["changes"]["team_id"],
    _data["metric"].astext,
    _data["due_at"].astext,
    _data["ticket"]["status"].astext,
    _data["ticket"]["priority"].astext,
    _data["ticket"]["team_id"].astext,
)


def events_query(ticket_ids: Sequence[int]) -> Any:
    return (
        select(*COLUMNS)
        .where(TicketEvent.ticket_id.in_(ticket_ids), TicketEvent.type.in_(READ_TYPES))
        .order_by(TicketEvent.ticket_id, TicketEvent.seq)
    )


async def load_event_rows(
    session: AsyncSession, ticket_ids: Sequence[int]
) -> dict[int, list[Row[Any]]]:
    found: dict[int, list[Row[Any]]] = {t: [] for t in ticket_ids}
    for row in await session.execute(events_query(ticket_ids)):
        found[row[0]].append(row)
    return found


@dataclass(frozen=True)
class Opening:
    """The ticket as it was opened, for tickets whose `ticket.created` says less."""

    created_at: datetime
    status: str
    priority: str
    team_id: int | None


def _team(value: Any) -> int | None:
    change = value.get("to") if isinstance(value, dict) else None
    return change if isinstance(change, int) else None


def history_of(rows: Iterable[Row[Any]], opening: Opening, now: datetime) -> TicketHistory:
    """In seq order; each event's time is kept inside [created_at, now] and never before
    the one before it (nodes' clocks differ a little)."""
    status, priority, team_id = opening.status, opening.priority, opening.team_id
    events: list[HistoryEvent] = []
    last = opening.created_at
    for row in rows:
        (_, _, kind, at, direction, author, internal, to_status, to_priority, team_change,
         metric, due_at, first_status, first_priority, first_team) = tuple(row)  # fmt: skip
        at = min(max(at, last), now)
        last = at
        if kind == "ticket.created":
            status = first_status or status
            priority = first_priority or priority
            team_id = int(first_team) if first_team and first_team.isdigit() else team_id
            continue
        if kind in MESSAGE_TYPES:
            if internal == "true":
                continue
            if direction == "inbound" and author == "contact":
                events.append(CustomerMessage(at))
            elif direction == "outbound" and author == "agent":
                events.append(AgentReply(at))
            continue
        if kind == DUE_OVERRIDDEN:
            due = datetime.fromisoformat(due_at) if due_at else None
            events.append(DueOverride(at, cast("Metric", metric), due))
            continue
        if to_status:
            events.append(StatusChanged(at, to_status))
        if to_priority:
            events.append(PriorityChanged(at, to_priority))
        if isinstance(team_change, dict):
            events.append(TeamChanged(at, _team(team_change)))
    return TicketHistory(
        created_at=opening.created_at,
        status=status,
        priority=priority,
        events=tuple(events),
        team_id=team_id,
    )
