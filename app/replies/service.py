"""Canned replies and macros: kept personal or shared (app.sharing), filled in for a ticket,
and a macro applied as one action: its reply, then its field changes, in one transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypeVar

import msgspec
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.agents.models import Agent, Team
from app.auth.actor import Actor
from app.contacts.models import Contact
from app.errors import NotFound, ValidationFailed
from app.messages.models import Message
from app.messages.service import do_add_message
from app.replies.models import CannedReply, Macro
from app.replies.placeholders import check_placeholders, fill, first_name
from app.replies.schemas import (
    CannedReplyCreate,
    CannedReplyUpdate,
    MacroActions,
    MacroCreate,
    MacroUpdate,
)
from app.sharing import check_can_change, check_sharing, visible_to
from app.tickets.models import Ticket
from app.tickets.service import (
    access_ticket,
    check_unchanged_since,
    clean_tags,
    do_update_ticket,
)

MAX_PER_AGENT = 500
Item = TypeVar("Item", CannedReply, Macro)


async def ticket_values(session: AsyncSession, actor: Actor, ticket: Ticket) -> dict[str, str]:
    """What each placeholder stands for on this ticket, for this agent."""
    contact = await session.get(Contact, ticket.contact_id)
    agent = await session.get(Agent, actor.agent_id)
    return {
        "contact.name": (contact.name or "") if contact else "",
        "contact.first_name": first_name(contact.name if contact else None),
        "contact.email": (contact.email or "") if contact else "",
        "agent.name": agent.name if agent else "",
        "agent.first_name": first_name(agent.name if agent else None),
        "agent.email": agent.email if agent else "",
        "ticket.number": str(ticket.number),
        "ticket.subject": ticket.subject,
    }


async def _access(
    session: AsyncSession, actor: Actor, model: type[Item], item_id: int, what: str
) -> Item:
    item = await session.scalar(select(model).where(model.id == item_id, visible_to(model, actor)))
    if item is None:
        raise NotFound(f"{what} {item_id} does not exist")
    return item


async def _check_team(session: AsyncSession, team_id: int | None) -> None:
    if team_id is not None and await session.get(Team, team_id) is None:
        raise ValidationFailed.field("team_id", f"no team with id {team_id}")


async def _check_room(session: AsyncSession, actor: Actor, model: type[Item]) -> None:
    owned = await session.scalar(select(func.count()).where(model.owner_id == actor.agent_id))
    if (owned or 0) >= MAX_PER_AGENT:
        raise ValidationFailed.field("name", f"you keep {MAX_PER_AGENT} of these already")


async def _share(
    session: AsyncSession, actor: Actor, item: Item, data: CannedReplyUpdate | MacroUpdate
) -> None:
    """Apply a change of visibility (and team) from an update, checked like a creation."""
    visibility = item.visibility if data.visibility is msgspec.UNSET else data.visibility
    team_id = item.team_id if data.team_id is msgspec.UNSET else data.team_id
    if visibility != "team" and data.team_id is msgspec.UNSET:
        team_id = None
    if (visibility, team_id) != (item.visibility, item.team_id):
        check_sharing(actor, visibility, team_id)
        await _check_team(session, team_id)
        item.visibility, item.team_id = visibility, team_id


# --- canned replies -----------------------------------------------------------------------


async def list_canned_replies(
    session: AsyncSession, actor: Actor, *, q: str | None = None
) -> list[CannedReply]:
    stmt = select(CannedReply).where(visible_to(CannedReply, actor))
    if q:
        stmt = stmt.where(CannedReply.name.icontains(q, autoescape=True))
    return list((await session.scalars(stmt.order_by(CannedReply.name, CannedReply.id))).all())


async def access_canned_reply(session: AsyncSession, actor: Actor, reply_id: int) -> CannedReply:
    return await _access(session, actor, CannedReply, reply_id, "canned reply")


async def do_create_canned_reply(
    session: AsyncSession, actor: Actor, data: CannedReplyCreate
) -> CannedReply:
    check_sharing(actor, data.visibility, data.team_id)
    await _check_team(session, data.team_id)
    check_placeholders(data.body, field="body")
    await _check_room(session, actor, CannedReply)
    reply = CannedReply(
        name=data.name.strip(),
        body=data.body,
        owner_id=actor.agent_id,
        visibility=data.visibility,
        team_id=data.team_id,
    )
    session.add(reply)
    await session.flush()
    await session.refresh(reply)
    return reply


async def do_update_canned_reply(
    session: AsyncSession, actor: Actor, reply_id: int, data: CannedReplyUpdate
) -> CannedReply:
    reply = await access_canned_reply(session, actor, reply_id)
    check_can_change(actor, reply, "canned reply")
    await _share(session, actor, reply, data)
    if data.name is not msgspec.UNSET:
        reply.name = data.name.strip()
    if data.body is not msgspec.UNSET:
        check_placeholders(data.body, field="body")
        reply.body = data.body
    await session.flush()
    await session.refresh(reply)
    return reply


async def do_delete(session: AsyncSession, actor: Actor, item: CannedReply | Macro) -> None:
    check_can_change(actor, item, "macro" if isinstance(item, Macro) else "canned reply")
    await session.delete(item)
    await session.flush()


async def render_canned_reply(
    session: AsyncSession, actor: Actor, reply_id: int, *, ticket_id: int
) -> str:
    reply = await access_canned_reply(session, actor, reply_id)
    ticket = await access_ticket(session, actor, ticket_id)
    return fill(reply.body, await ticket_values(session, actor, ticket))


# --- macros -------------------------------------------------------------------------------


def check_actions(actions: MacroActions) -> None:
    if actions == MacroActions():
        raise ValidationFailed.field("actions", "a macro does at least one thing")
    if actions.team_id is not None and actions.clear_team:
        raise ValidationFailed.field("clear_team", "a macro sets a team or clears it, not both")
    if actions.reply is not None:
        check_placeholders(actions.reply.body, field="reply.body")


async def list_macros(session: AsyncSession, actor: Actor) -> list[Macro]:
    stmt = select(Macro).where(visible_to(Macro, actor)).order_by(Macro.name, Macro.id)
    return list((await session.scalars(stmt)).all())


async def access_macro(session: AsyncSession, actor: Actor, macro_id: int) -> Macro:
    return await _access(session, actor, Macro, macro_id, "macro")


async def do_create_macro(session: AsyncSession, actor: Actor, data: MacroCreate) -> Macro:
    check_sharing(actor, data.visibility, data.team_id)
    await _check_team(session, data.team_id)
    check_actions(data.actions)
    await _check_room(session, actor, Macro)
    macro = Macro(
        name=data.name.strip(),
        actions=msgspec.to_builtins(data.actions),
        owner_id=actor.agent_id,
        visibility=data.visibility,
        team_id=data.team_id,
    )
    session.add(macro)
    await session.flush()
    await session.refresh(macro)
    return macro


async def do_update_macro(
    session: AsyncSession, actor: Actor, macro_id: int, data: MacroUpdate
) -> Macro:
    macro = await access_macro(session, actor, macro_id)
    check_can_change(actor, macro, "macro")
    await _share(session, actor, macro, data)
    if data.name is not msgspec.UNSET:
        macro.name = data.name.strip()
    if data.actions is not msgspec.UNSET:
        check_actions(data.actions)
        macro.actions = msgspec.to_builtins(data.actions)
    await session.flush()
    await session.refresh(macro)
    return macro


def macro_actions(macro: Macro) -> MacroActions:
    return msgspec.convert(macro.actions, MacroActions)


def field_changes(actions: MacroActions, actor: Actor, ticket: Ticket) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    if actions.status is not None:
        changes["status"] = actions.status
    if actions.priority is not None:
        changes["priority"] = actions.priority
    if actions.assignee == "me":
        changes["assignee_id"] = actor.agent_id
    elif actions.assignee == "none":
        changes["assignee_id"] = None
    elif actions.assignee is not None:
        changes["assignee_id"] = actions.assignee
    if actions.team_id is not None:
        changes["team_id"] = actions.team_id
    elif actions.clear_team:
        changes["team_id"] = None
    if actions.add_tags or actions.remove_tags:
        removed = set(clean_tags(actions.remove_tags))
        kept = [t for t in ticket.tags if t not in removed]
        changes["tags"] = [*kept, *clean_tags(actions.add_tags)]
    return changes


async def do_apply_macro(
    session: AsyncSession,
    actor: Actor,
    macro_id: int,
    *,
    ticket_id: int,
    expected_seq: int | None,
    now: datetime,
) -> tuple[Ticket, Message | None]:
    """The macro's reply (filled in for the ticket), then its field changes; a failing
    step (a closed ticket, a status it cannot reach) fails the whole request."""
    macro = await access_macro(session, actor, macro_id)
    actions = macro_actions(macro)
    ticket = await access_ticket(session, actor, ticket_id, for_update=True)
    await check_unchanged_since(session, actor, ticket, expected_seq)
    message = None
    if actions.reply is not None:
        body = fill(actions.reply.body, await ticket_values(session, actor, ticket))
        message = await do_add_message(
            session, actor, ticket.id, body=body, internal=actions.reply.internal, now=now
        )
    changes = field_changes(actions, actor, ticket)
    if changes:
        ticket = await do_update_ticket(session, actor, ticket.id, changes=changes, now=now)
    return ticket, message
