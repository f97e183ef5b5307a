from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import msgspec
from litestar import Controller, get, patch, post
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.actor import Actor
from app.contacts.models import Contact
from app.errors import NotFound, ValidationFailed
from app.http.params import Cursor, Instant, PageSize, instant
from app.messages.schemas import MessageCreate, MessageOut
from app.messages.service import do_add_message, do_retry_message, message_out, messages_of
from app.pagination import DEFAULT_LIMIT
from app.schemas import Page
from app.tickets.events import TicketEvent, events_since
from app.tickets.merge import do_bulk_update, do_merge_tickets
from app.tickets.repository import TicketFilters
from app.tickets.schemas import (
    BulkOut,
    BulkResult,
    BulkUpdate,
    Channel,
    EventActorOut,
    MergeIn,
    Priority,
    Status,
    TicketChanges,
    TicketCreate,
    TicketDetail,
    TicketEventOut,
    TicketEventsPage,
    TicketOut,
)
from app.tickets.service import access_ticket, do_create_ticket, do_update_ticket, list_tickets


def ticket_out(ticket: Any) -> TicketOut:
    return TicketOut(**{f: getattr(ticket, f) for f in TicketOut.__struct_fields__})


def event_out(event: TicketEvent) -> TicketEventOut:
    actor = EventActorOut(type=event.actor_type, id=event.actor_id) if event.actor_type else None
    return TicketEventOut(seq=event.seq, type=event.type, at=event.at, actor=actor, data=event.data)


def _changes(data: msgspec.Struct) -> dict[str, Any]:
    return {
        f: getattr(data, f)
        for f in data.__struct_fields__
        if getattr(data, f) is not msgspec.UNSET and f not in {"add_tags", "remove_tags"}
    }


def _assignee(value: str | None, actor: Actor) -> tuple[int | None, bool]:
    """`assignee_id` takes an id, `me` or `none` (unassigned)."""
    if value is None:
        return None, False
    if value == "me":
        return actor.agent_id, False
    if value == "none":
        return None, True
    if value.isdigit() and 0 < int(value) < 2**63:
        return int(value), False
    raise ValidationFailed.field("assignee_id", "must be an agent id, 'me' or 'none'")


class TicketController(Controller):
    path = "/api/v1/tickets"
    tags = ["tickets"]

    @get("/", summary="List tickets you can see, newest first, with filters")
    async def list(
        self,
        actor: Actor,
        db_session: AsyncSession,
        status: list[Status] | None = None,
        priority: list[Priority] | None = None,
        assignee_id: str | None = Parameter(default=None, description="an id, 'me' or 'none'"),
        team_id: int | None = None,
        inbox_id: int | None = None,
        channel: Channel | None = None,
        tag: str | None = None,
        contact_id: int | None = None,
        account_id: int | None = None,
        created_after: Instant = None,
        created_before: Instant = None,
        updated_after: Instant = None,
        updated_before: Instant = None,
        limit: PageSize = DEFAULT_LIMIT,
        cursor: Cursor = None,
    ) -> Page[TicketOut]:
        assignee, unassigned = _assignee(assignee_id, actor)
        filters = TicketFilters(
            status=tuple(status or ()),
            priority=tuple(priority or ()),
            assignee_id=assignee,
            unassigned=unassigned,
            team_id=team_id,
            inbox_id=inbox_id,
            channel=channel,
            tag=tag.strip().lower() if tag else None,
            contact_id=contact_id,
            account_id=account_id,
            created_after=instant("created_after", created_after),
            created_before=instant("created_before", created_before),
            updated_after=instant("updated_after", updated_after),
            updated_before=instant("updated_before", updated_before),
        )
        tickets, next_cursor = await list_tickets(
            db_session, actor, filters=filters, limit=limit, cursor=cursor
        )
        return Page(items=[ticket_out(t) for t in tickets], next_cursor=next_cursor)

    @post("/", summary="Open a ticket for a contact (found or created by email)")
    async def create(
        self, data: TicketCreate, actor: Actor, db_session: AsyncSession, now: datetime
    ) -> TicketOut:
        ticket = await do_create_ticket(
            db_session,
            actor,
            subject=data.subject,
            body=data.body,
            contact_email=data.contact.email,
            contact_name=data.contact.name,
            priority=data.priority,
            channel=data.channel,
            tags=data.tags,
            team_id=data.team_id,
            assignee_id=data.assignee_id,
            custom_fields=data.custom_fields,
            required_skills=[msgspec.structs.asdict(s) for s in data.required_skills],
            now=now,
        )
        return ticket_out(ticket)

    @get("/{ticket_id:int}", summary="A ticket with its messages")
    async def read(self, ticket_id: int, actor: Actor, db_session: AsyncSession) -> TicketDetail:
        ticket = await access_ticket(db_session, actor, ticket_id)
        messages = [message_out(m) for m in await messages_of(db_session, ticket.id)]
        return TicketDetail(**msgspec.structs.asdict(ticket_out(ticket)), messages=messages)

    @get("/{ticket_id:int}/events", summary="The ticket's events after `since`, in seq order")
    async def events(
        self,
        ticket_id: int,
        actor: Actor,
        db_session: AsyncSession,
        since: Annotated[
            int, Parameter(ge=0, le=2**63 - 1, description="the last seq you have")
        ] = 0,
        limit: Annotated[int, Parameter(ge=1, le=1000, description="Page size")] = 200,
    ) -> TicketEventsPage:
        ticket = await access_ticket(db_session, actor, ticket_id)
        events = await events_since(db_session, ticket.id, since=since, limit=limit)
        return TicketEventsPage(
            items=[event_out(e) for e in events], next_since=events[-1].seq if events else since
        )

    @patch("/{ticket_id:int}", summary="Change status, priority, assignee, team, tags, fields")
    async def update(
        self,
        ticket_id: int,
        data: TicketChanges,
        actor: Actor,
        db_session: AsyncSession,
        now: datetime,
    ) -> TicketOut:
        ticket = await do_update_ticket(
            db_session, actor, ticket_id, changes=_changes(data), now=now
        )
        return ticket_out(ticket)

    @post("/{ticket_id:int}/messages", summary="Reply to the customer or add an internal note")
    async def add_message(
        self,
        ticket_id: int,
        data: MessageCreate,
        actor: Actor,
        db_session: AsyncSession,
        now: datetime,
    ) -> MessageOut:
        message = await do_add_message(
            db_session,
            actor,
            ticket_id,
            body=data.body,
            internal=data.internal,
            html=data.html,
            attachment_ids=data.attachment_ids,
            expected_seq=data.expected_seq,
            now=now,
        )
        return message_out(message)

    @post(
        "/{ticket_id:int}/messages/{message_id:int}/retry",
        status_code=200,
        summary="Send a failed reply again (with the same Message-ID)",
    )
    async def retry_message(
        self, ticket_id: int, message_id: int, actor: Actor, db_session: AsyncSession, now: datetime
    ) -> MessageOut:
        message = await do_retry_message(db_session, actor, ticket_id, message_id, now=now)
        return message_out(message)

    @post("/{ticket_id:int}/merge", summary="Merge this ticket into another one")
    async def merge(
        self, ticket_id: int, data: MergeIn, actor: Actor, db_session: AsyncSession, now: datetime
    ) -> TicketOut:
        target = await do_merge_tickets(
            db_session, actor, source_id=ticket_id, into_id=data.into_id, now=now
        )
        return ticket_out(target)

    @post("/bulk", summary="Apply one change to many tickets; each reports its own result")
    async def bulk_update(
        self, data: BulkUpdate, actor: Actor, db_session: AsyncSession, now: datetime
    ) -> BulkOut:
        results = await do_bulk_update(
            db_session,
            actor,
            ids=data.ids,
            changes=_changes(data.changes),
            add_tags=data.changes.add_tags,
            remove_tags=data.changes.remove_tags,
            now=now,
        )
        return BulkOut(
            results=[
                BulkResult(
                    id=i, ok=e is None, error=e.detail if e else None, code=e.code if e else None
                )
                for i, e in results
            ]
        )


@get("/api/v1/contacts/{contact_id:int}/tickets", tags=["contacts"], summary="A contact's tickets")
async def contact_tickets(
    contact_id: int,
    actor: Actor,
    db_session: AsyncSession,
    limit: PageSize = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[TicketOut]:
    if await db_session.get(Contact, contact_id) is None:
        raise NotFound(f"contact {contact_id} does not exist")
    tickets, next_cursor = await list_tickets(
        db_session, actor, filters=TicketFilters(contact_id=contact_id), limit=limit, cursor=cursor
    )
    return Page(items=[ticket_out(t) for t in tickets], next_cursor=next_cursor)
