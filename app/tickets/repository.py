"""Ticket queries as readable statement builders; every list filter is index-backed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, or_, select, true

from app.auth.actor import Actor
from app.tickets.models import Ticket


def readable_by(actor: Actor) -> ColumnElement[bool]:
    """Supervisors and admins see every ticket; agents see their own and their teams'."""
    if actor.sees_all_tickets:
        return true()
    mine = Ticket.assignee_id == actor.agent_id
    if not actor.team_ids:
        return mine
    return or_(mine, Ticket.team_id.in_(sorted(actor.team_ids)))


@dataclass(frozen=True)
class TicketFilters:
    status: tuple[str, ...] = ()
    priority: tuple[str, ...] = ()
    assignee_id: int | None = None
    unassigned: bool = False
    team_id: int | None = None
    # Any of these teams (a view of "my teams"); empty means no such condition.
    team_ids: tuple[int, ...] = ()
    inbox_id: int | None = None
    channel: str | None = None
    tag: str | None = None
    contact_id: int | None = None
    account_id: int | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None
    updated_after: datetime | None = None
    updated_before: datetime | None = None
    solved_after: datetime | None = None


def readable_tickets(actor: Actor, filters: TicketFilters) -> Select[Ticket]:
    conditions: list[ColumnElement[bool]] = [readable_by(actor)]
    if filters.status:
        conditions.append(Ticket.status.in_(filters.status))
    if filters.priority:
        conditions.append(Ticket.priority.in_(filters.priority))
    if filters.unassigned:
        conditions.append(Ticket.assignee_id.is_(None))
    elif filters.assignee_id is not None:
        conditions.append(Ticket.assignee_id == filters.assignee_id)
    equal: dict[str, Any] = {
        "team_id": filters.team_id,
        "inbox_id": filters.inbox_id,
        "channel": filters.channel,
        "contact_id": filters.contact_id,
        "account_id": filters.account_id,
    }
    conditions += [
        getattr(Ticket, name) == value for name, value in equal.items() if value is not None
    ]
    if filters.team_ids:
        conditions.append(Ticket.team_id.in_(sorted(filters.team_ids)))
    if filters.tag is not None:
        conditions.append(Ticket.tags.contains([filters.tag]))
    if filters.created_after:
        conditions.append(Ticket.created_at >= filters.created_after)
    if filters.created_before:
        conditions.append(Ticket.created_at < filters.created_before)
    if filters.updated_after:
        conditions.append(Ticket.updated_at >= filters.updated_after)
    if filters.updated_before:
        conditions.append(Ticket.updated_at < filters.updated_before)
    if filters.solved_after:
        conditions.append(Ticket.solved_at >= filters.solved_after)
    return select(Ticket).where(*conditions)


def ticket_for(actor: Actor, ticket_id: int) -> Select[Ticket]:
    return select(Ticket).where(Ticket.id == ticket_id, readable_by(actor))
