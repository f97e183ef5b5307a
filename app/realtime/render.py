"""Ticket events as the frames each audience sees, for live delivery and resume alike.

Events carry ids, not content (the outbox and `ticket_events` stay small), so the messages
they name are loaded here, once per batch for every socket of the node. A visitor sees
their conversation's public messages and delivery states; every other event of the ticket
(an internal note, an assignment) reaches them as a `skip` frame with its seq, so the seqs
a visitor receives have no holes and a hole always means something was missed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased, selectinload

from app.agents.models import Agent
from app.contacts.models import Contact
from app.messages.models import Message
from app.outbox.service import MESSAGE_CREATED, MESSAGE_STATUS_CHANGED
from app.realtime.frames import encode
from app.tickets.lifecycle import MESSAGE_MOVED
from app.tickets.models import Ticket

MESSAGE_TOPICS = (MESSAGE_CREATED, MESSAGE_MOVED)


@dataclass(frozen=True)
class Event:
    """A ticket event (or, without ticket, a node-wide one such as presence)."""

    topic: str
    payload: dict[str, Any]
    ticket_id: int | None = None
    seq: int | None = None
    at: datetime | None = None

    @property
    def message_id(self) -> int | None:
        if self.topic in MESSAGE_TOPICS:
            value = self.payload.get("message_id")
            return value if isinstance(value, int) else None
        return None


@dataclass(frozen=True)
class TicketMeta:
    """What deciding who may see a ticket needs (app.tickets.repository.readable_by)."""

    id: int
    assignee_id: int | None
    team_id: int | None
    inbox_id: int | None
    contact_id: int
    channel: str = ""

    def updated(self, payload: dict[str, Any]) -> TicketMeta:
        """As of this event, from the summary every ticket event carries."""
        return TicketMeta(
            id=self.id,
            assignee_id=payload.get("assignee_id", self.assignee_id),
            team_id=payload.get("team_id", self.team_id),
            inbox_id=self.inbox_id,
            contact_id=_changed_to(payload, "contact_id", self.contact_id),
            channel=self.channel,
        )


def _changed_to(payload: dict[str, Any], field: str, current: int) -> int:
    change = (payload.get("changes") or {}).get(field)
    value = change.get("to") if isinstance(change, dict) else None
    return value if isinstance(value, int) else current


@dataclass(frozen=True)
class MessageView:
    id: int
    internal: bool
    body: str
    direction: str
    status: str
    author: dict[str, Any]
    at: str
    attachments: list[dict[str, Any]]


async def load_metas(session: AsyncSession, ticket_ids: Iterable[int]) -> dict[int, TicketMeta]:
    ids = sorted(set(ticket_ids))
    if not ids:
        return {}
    rows = await session.execute(
        select(
            Ticket.id,
            Ticket.assignee_id,
            Ticket.team_id,
            Ticket.inbox_id,
            Ticket.contact_id,
            Ticket.channel,
        ).where(Ticket.id.in_(ids))
    )
    return {row[0]: TicketMeta(*row) for row in rows}


async def load_messages(
    session: AsyncSession, message_ids: Iterable[int]
) -> dict[int, MessageView]:
    ids = sorted(set(message_ids))
    if not ids:
        return {}
    author_agent = aliased(Agent)
    author_contact = aliased(Contact)
    rows = await session.execute(
        select(Message, author_agent.name, author_agent.avatar_url, author_contact.name)
        .outerjoin(author_agent, author_agent.id == Message.author_agent_id)
        .outerjoin(author_contact, author_contact.id == Message.author_contact_id)
        .where(Message.id.in_(ids))
        .options(selectinload(Message.attachments))
    )
    views = {}
    for message, agent_name, avatar_url, contact_name in rows:
        author: dict[str, Any] = {"type": "system", "id": None, "name": None, "avatar_url": None}
        if message.author_type == "agent":
            author.update(type="agent", id=message.author_agent_id, name=agent_name)
            author["avatar_url"] = avatar_url
        elif message.author_type == "contact":
            author.update(type="contact", id=message.author_contact_id, name=contact_name)
        views[message.id] = MessageView(
            id=message.id,
            internal=message.internal,
            body=message.body_text,
            direction=message.direction,
            status=message.status,
            author=author,
            at=message.created_at.isoformat(),
            attachments=[
                {
                    "id": a.id,
                    "filename": a.filename,
                    "content_type": a.content_type,
                    "size": a.size,
                }
                for a in message.attachments
            ],
        )
    return views


def _message_frame(event: Event, view: MessageView, *, for_agent: bool) -> dict[str, Any]:
    prefix = "/api/v1/attachments" if for_agent else "/api/v1/widget/attachments"
    frame: dict[str, Any] = {
        "type": "message.new",
        "ticket_id": event.ticket_id,
        "message_id": view.id,
        "seq": event.seq,
        "body": view.body,
        "author": view.author,
        "at": view.at,
        "direction": view.direction,
        "status": view.status,
        "attachments": [{**a, "url": f"{prefix}/{a['id']}"} for a in view.attachments],
    }
    if for_agent:
        frame["internal"] = view.internal
        if event.topic == MESSAGE_MOVED:
            frame["moved_from"] = event.payload.get("moved_from")
    return frame


def agent_frame(event: Event, messages: dict[int, MessageView]) -> str | None:
    if event.ticket_id is None:
        return None
    if event.topic in MESSAGE_TOPICS:
        view = messages.get(event.message_id or 0)
        if view is None:  # deleted with its ticket since
            return None
        return encode(_message_frame(event, view, for_agent=True))
    if event.topic == MESSAGE_STATUS_CHANGED:
        return encode(_status_frame(event))
    return encode(
        {"type": event.topic, "ticket_id": event.ticket_id, "seq": event.seq, "data": event.payload}
    )


def visitor_frame(event: Event, messages: dict[int, MessageView]) -> str:
    skip = encode({"type": "skip", "ticket_id": event.ticket_id, "seq": event.seq})
    if event.topic in MESSAGE_TOPICS:
        view = messages.get(event.message_id or 0)
        if view is None or view.internal:
            return skip
        return encode(_message_frame(event, view, for_agent=False))
    if event.topic == MESSAGE_STATUS_CHANGED and not event.payload.get("internal"):
        return encode(_status_frame(event))
    return skip


def _status_frame(event: Event) -> dict[str, Any]:
    return {
        "type": "message.status",
        "ticket_id": event.ticket_id,
        "message_id": event.payload.get("message_id"),
        "seq": event.seq,
        "status": event.payload.get("status"),
    }
