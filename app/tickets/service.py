"""Tickets: create, read, change, list, with the permission checks and validation that
come before the lifecycle (app.tickets.lifecycle) writes anything."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.agents.models import Agent, Skill, Team
from app.auth.actor import Actor
from app.contacts.identities import Identity, resolve_contact
from app.errors import Conflict, NotFound, ValidationFailed
from app.outbox.service import MESSAGE_STATUS_CHANGED
from app.pagination import page_of, paginate
from app.tickets.events import EventActor, TicketEvent
from app.tickets.lifecycle import NewMessage, NewTicket, change_ticket, open_ticket
from app.tickets.models import Ticket
from app.tickets.repository import TicketFilters, readable_tickets, ticket_for
from app.tickets.workflow import check_transition


async def access_ticket(
    session: AsyncSession, actor: Actor, ticket_id: int, *, for_update: bool = False
) -> Ticket:
    """The ticket if the actor may see it; otherwise 404, so ids reveal nothing."""
    stmt = ticket_for(actor, ticket_id)
    if for_update:
        stmt = stmt.with_for_update()
    ticket = await session.scalar(stmt)
    if ticket is None:
        raise NotFound(f"ticket {ticket_id} does not exist")
    return ticket


async def check_unchanged_since(
    session: AsyncSession, actor: Actor, ticket: Ticket, expected_seq: int | None
) -> None:
    """Refuse to act on a ticket that changed after `expected_seq`, the last seq the caller
    has seen (None: the caller does not ask). What the caller did themselves and a reply's
    delivery updates do not count: neither changes what the agent answers. The caller holds
    the ticket's row lock."""
    if expected_seq is None or expected_seq == ticket.last_seq:
        return
    if expected_seq > ticket.last_seq:
        raise ValidationFailed.field(
            "expected_seq", f"is ahead of the ticket, whose last seq is {ticket.last_seq}"
        )
    changes = await session.scalar(
        select(func.count()).where(
            TicketEvent.ticket_id == ticket.id,
            TicketEvent.seq > expected_seq,
            TicketEvent.type != MESSAGE_STATUS_CHANGED,
            TicketEvent.type.not_like("sla.%"),  # the SLA clock's own events
            or_(TicketEvent.actor_type != "agent", TicketEvent.actor_id != actor.agent_id),
        )
    )
    if changes:
        raise Conflict(
            f"ticket {ticket.id} changed after seq {expected_seq} (now {ticket.last_seq}); "
            f"read GET /api/v1/tickets/{ticket.id}/events?since={expected_seq} and send again "
            f"with expected_seq={ticket.last_seq}",
            code="ticket_changed",
        )


async def check_assignee(session: AsyncSession, agent_id: int | None, *, field: str) -> None:
    if agent_id is None:
        return
    active = await session.scalar(select(Agent.is_active).where(Agent.id == agent_id))
    if not active:
        raise ValidationFailed.field(field, f"no active agent with id {agent_id}")


async def check_team(session: AsyncSession, team_id: int | None, *, field: str) -> None:
    if team_id is not None and await session.get(Team, team_id) is None:
        raise ValidationFailed.field(field, f"no team with id {team_id}")


async def check_skill_ids(
    session: AsyncSession, skill_ids: Sequence[int], *, field: str = "required_skill_ids"
) -> None:
    if not skill_ids:  # most tickets need none: no round trip for them
        return
    found = set((await session.scalars(select(Skill.id).where(Skill.id.in_(skill_ids)))).all())
    missing = sorted(set(skill_ids) - found)
    if missing:
        raise ValidationFailed.field(field, f"no skill with id {missing}")


async def check_required_skills(
    session: AsyncSession, needs: Sequence[Any]
) -> list[dict[str, int]]:
    """[{"skill_id", "min_level"}] by skill id; a skill named twice keeps its highest level."""
    levels: dict[int, int] = {}
    for need in needs:
        skill_id, level = _need(need)
        levels[skill_id] = max(levels.get(skill_id, 0), level)
    await check_skill_ids(session, sorted(levels), field="required_skills")
    return [{"skill_id": s, "min_level": m} for s, m in sorted(levels.items())]


def _need(need: Any) -> tuple[int, int]:
    if isinstance(need, dict):
        return int(need["skill_id"]), int(need.get("min_level", 1))
    return int(need.skill_id), int(need.min_level)


def clean_tags(tags: Sequence[str]) -> list[str]:
    """Tags are case-insensitive labels: lower-case, unique, in the order first given."""
    return list(dict.fromkeys(t.strip().lower() for t in tags if t.strip()))


async def do_create_ticket(
    session: AsyncSession,
    actor: Actor,
    *,
    subject: str,
    body: str,
    contact_email: str,
    contact_name: str | None,
    priority: str = "normal",
    channel: str = "api",
    tags: Sequence[str] = (),
    team_id: int | None = None,
    assignee_id: int | None = None,
    custom_fields: dict[str, Any] | None = None,
    required_skills: Sequence[Any] = (),
    now: datetime,
) -> Ticket:
    """Open a ticket on a customer's behalf; `body` is their request, stored as inbound.

    An agent who names neither team nor assignee becomes the assignee, so the ticket they
    just created stays visible to them.
    """
    await check_assignee(session, assignee_id, field="assignee_id")
    await check_team(session, team_id, field="team_id")
    skills = await check_required_skills(session, required_skills)
    if not actor.sees_all_tickets and team_id is None and assignee_id is None:
        assignee_id = actor.agent_id
    contact, _ = await resolve_contact(
        session, [Identity.of("email", contact_email)], name=contact_name
    )
    ticket, _ = await open_ticket(
        session,
        NewTicket(
            subject=subject,
            channel=channel,
            contact_id=contact.id,
            account_id=contact.account_id,
            priority=priority,
            assignee_id=assignee_id,
            team_id=team_id,
            tags=clean_tags(tags),
            custom_fields=dict(custom_fields or {}),
            required_skills=skills,
        ),
        first_message=NewMessage(
            direction="inbound",
            author_type="contact",
            author_contact_id=contact.id,
            body_text=body,
            status="received",
            channel_data={"created_by_agent_id": actor.agent_id},
        ),
        actor=EventActor.agent(actor.agent_id),
        now=now,
    )
    return ticket


async def do_update_ticket(
    session: AsyncSession, actor: Actor, ticket_id: int, *, changes: dict[str, Any], now: datetime
) -> Ticket:
    """Apply the given fields (absent ones stay); no-op changes write nothing."""
    ticket = await access_ticket(session, actor, ticket_id, for_update=True)
    if ticket.merged_into_id is not None:
        raise ValidationFailed.field("id", f"ticket was merged into {ticket.merged_into_id}")
    values: dict[str, Any] = {}
    if "status" in changes:
        check_transition(ticket.status, changes["status"])
        values["status"] = changes["status"]
    if "assignee_id" in changes:
        await check_assignee(session, changes["assignee_id"], field="assignee_id")
        values["assignee_id"] = changes["assignee_id"]
    if "team_id" in changes:
        await check_team(session, changes["team_id"], field="team_id")
        values["team_id"] = changes["team_id"]
    if "required_skills" in changes:
        skills = await check_required_skills(session, changes["required_skills"])
        values["required_skills"] = skills
        values["required_skill_ids"] = [s["skill_id"] for s in skills]
    elif "required_skill_ids" in changes:  # the older form: each skill at level 1 or as it was
        await check_skill_ids(session, changes["required_skill_ids"])
        ids = sorted(set(changes["required_skill_ids"]))
        kept = {s["skill_id"]: s["min_level"] for s in ticket.required_skills}
        values["required_skill_ids"] = ids
        values["required_skills"] = [{"skill_id": i, "min_level": kept.get(i, 1)} for i in ids]
    if "tags" in changes:
        values["tags"] = clean_tags(changes["tags"])
    if "custom_fields" in changes:
        values["custom_fields"] = {**ticket.custom_fields, **changes["custom_fields"]}
    for field in ("priority", "subject"):
        if field in changes:
            values[field] = changes[field]
    await change_ticket(session, ticket, values, actor=EventActor.agent(actor.agent_id), now=now)
    return ticket


async def list_tickets(
    session: AsyncSession, actor: Actor, *, filters: TicketFilters, limit: int, cursor: str | None
) -> tuple[list[Ticket], str | None]:
    stmt = paginate(readable_tickets(actor, filters), Ticket.id, limit=limit, cursor=cursor)
    rows = (await session.scalars(stmt)).all()
    return page_of(rows, limit=limit)
