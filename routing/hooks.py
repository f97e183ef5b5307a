"""The lifecycle hooks routing registers at the composition root (app.main,
`build_lifecycle_hooks`): they keep each ticket's routing state (eligible since, last
agent) and wake the driver on the moments that matter: a new ticket, capacity freed, a
reopen, a requeue, a change of what a waiting ticket needs. They route nothing
themselves: the driver does, after the change has committed."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import Account
from app.contacts.models import Contact
from app.db.rules_cache import RULES
from app.routing.models import SkillRule as SkillRuleRow
from app.routing.models import TicketRouting
from app.tickets.events import EventActor
from app.tickets.hooks import MessageAppended, TicketChanged
from app.tickets.lifecycle import change_ticket
from app.tickets.models import Ticket
from routing.core.model import SkillNeed
from routing.core.skill_rules import SkillRule, TicketText, skills_for
from routing.wakeup import wake

# Set on a session while the driver applies its own decisions: they wake nothing.
APPLYING = "routing_applying"
ROUTING_ACTOR = EventActor("system")
DONE = ("solved", "closed")
WAITING = ("new", "open")


async def set_routing(
    session: AsyncSession, ticket_id: int, *, start: datetime, **updates: Any
) -> None:
    """Upsert the ticket's routing state: a new row is eligible since `start`; an existing
    one changes only `updates` (which may reset `eligible_since`)."""
    stmt = insert(TicketRouting).values(
        {"eligible_since": start, **updates, "ticket_id": ticket_id}
    )
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=["ticket_id"], set_={k: stmt.excluded[k] for k in updates}
        )
        if updates
        else stmt.on_conflict_do_nothing()
    )


async def after_ticket_change(session: AsyncSession, change: TicketChanged) -> None:
    if session.info.get(APPLYING):
        return
    ticket, changes, now = change.ticket, change.changes, change.now
    keys: list[str] = []
    if change.created:
        await set_routing(session, ticket.id, start=now)
        return  # woken once the first message is stored (the rules read it)
    if "status" in changes:
        before, after = changes["status"]
        if before in DONE and after in WAITING:  # reopened: eligible again, refusals forgotten
            await set_routing(session, ticket.id, start=now, eligible_since=now, refused={})
            keys.append(f"ticket:{ticket.id}")
        if ticket.assignee_id is not None:
            keys.append(f"agent:{ticket.assignee_id}")  # may free (or take) capacity
    if "assignee_id" in changes:
        before, after = changes["assignee_id"]
        if before is not None:
            keys.append(f"agent:{before}")
        if after is None and ticket.status in WAITING:  # back to the queue
            values: dict[str, Any] = {"eligible_since": now}
            if before is not None:
                values["last_agent_id"] = before
            await set_routing(session, ticket.id, start=now, **values)
            keys.append(f"ticket:{ticket.id}")
        elif after is not None:
            await set_routing(session, ticket.id, start=now, last_agent_id=after)
    if ticket.assignee_id is None and changes.keys() & {"team_id", "required_skills", "priority"}:
        keys.append(f"ticket:{ticket.id}")
    await wake(session, *keys)


async def after_tickets_change(session: AsyncSession, changes: Sequence[TicketChanged]) -> None:
    """`after_ticket_change` for a batch; the driver's own batches wake nothing."""
    if session.info.get(APPLYING):
        return
    for change in changes:
        await after_ticket_change(session, change)


async def after_message_appended(session: AsyncSession, appended: MessageAppended) -> None:
    """The first message of a new ticket: apply the skill rules to its subject and text,
    remember the contact's last agent (sticky), and wake the driver."""
    if appended.seq != 2 or session.info.get(APPLYING):
        return
    ticket, message = appended.ticket, appended.message
    text = f"{ticket.subject}\n{message.body_text or ''}"
    await apply_skill_rules(session, ticket, text=text, now=appended.now)
    last_agent = await session.scalar(
        select(Ticket.assignee_id)
        .where(
            Ticket.contact_id == ticket.contact_id,
            Ticket.id != ticket.id,
            Ticket.assignee_id.is_not(None),
        )
        .order_by(Ticket.updated_at.desc())
        .limit(1)
    )
    if last_agent is not None:
        await set_routing(session, ticket.id, start=appended.now, last_agent_id=last_agent)
    await wake(session, f"ticket:{ticket.id}")


async def read_skill_rules(session: AsyncSession) -> tuple[SkillRule, ...]:
    rows = (await session.scalars(select(SkillRuleRow).order_by(SkillRuleRow.position))).all()
    return tuple(
        SkillRule(
            row.id,
            tuple(SkillNeed(int(s["skill_id"]), int(s.get("min_level", 1))) for s in row.skills),
            optional=row.optional,
            conditions={k: frozenset(str(v) for v in vs) for k, vs in row.conditions.items()},
            keywords=frozenset(row.keywords),
        )
        for row in rows
    )


async def apply_skill_rules(
    session: AsyncSession, ticket: Ticket, *, text: str, now: datetime
) -> None:
    rules = await RULES.get(session, "skill_rules", read_skill_rules)
    if not rules:
        return
    locale = await session.scalar(select(Contact.locale).where(Contact.id == ticket.contact_id))
    tier = (
        await session.scalar(select(Account.tier).where(Account.id == ticket.account_id))
        if ticket.account_id is not None
        else None
    )
    about = TicketText(
        ticket.channel,
        text,
        inbox=ticket.inbox_id,
        language=locale.split("-")[0].lower() if locale else None,  # "fr-CA" matches "fr"
        account_tier=tier,
    )
    required, optional = skills_for(rules, about)
    levels = {s["skill_id"]: s["min_level"] for s in ticket.required_skills}
    for need in required:
        levels[need.skill_id] = max(levels.get(need.skill_id, 0), need.min_level)
    if required:
        skills = [{"skill_id": s, "min_level": m} for s, m in sorted(levels.items())]
        await change_ticket(
            session,
            ticket,
            {"required_skills": skills, "required_skill_ids": sorted(levels)},
            actor=ROUTING_ACTOR,
            now=now,
            extra={"routing": "skill rules"},
        )
    if optional:
        extra = [
            {"skill_id": n.skill_id, "min_level": n.min_level}
            for n in optional
            if n.skill_id not in levels
        ]
        await set_routing(session, ticket.id, start=now, optional_skills=extra)
