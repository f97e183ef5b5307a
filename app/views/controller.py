from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec
from litestar import Controller, delete, get, patch, post
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.actor import Actor
from app.contacts.models import Contact
from app.pagination import DEFAULT_LIMIT
from app.schemas import Page
from app.sharing import can_change
from app.tickets.controller import ticket_out
from app.tickets.models import Ticket
from app.views.schemas import (
    ContactBrief,
    SavedViewCreate,
    SavedViewUpdate,
    ViewFilters,
    ViewOut,
    ViewTicket,
)
from app.views.service import (
    View,
    access_view,
    count_tickets,
    do_create_view,
    do_delete_view,
    do_update_view,
    filters_of,
    view_tickets,
    views_of,
)

Limit = Annotated[int, Parameter(ge=1, le=200, description="Page size")]
MAX_IDS = 200
TicketIds = Annotated[
    list[int] | None,
    Parameter(
        max_items=MAX_IDS,
        description="Only these tickets, those of them in the view (`ids=1&ids=2`)",
    ),
]


def view_out(view: View, count: int, actor: Actor) -> ViewOut:
    row = view.saved
    if row is None:
        return ViewOut(key=view.key, kind="built_in", name=view.name, count=count)
    return ViewOut(
        key=view.key,
        kind="saved",
        name=view.name,
        count=count,
        id=row.id,
        filters=msgspec.convert(row.filters, ViewFilters),
        visibility=row.visibility,
        team_id=row.team_id,
        owner_id=row.owner_id,
        editable=can_change(actor, row),
    )


def view_ticket(ticket: Ticket, contact: Contact) -> ViewTicket:
    brief = ContactBrief(id=contact.id, name=contact.name, email=contact.email)
    return ViewTicket(**msgspec.structs.asdict(ticket_out(ticket)), contact=brief)


class ViewController(Controller):
    path = "/api/v1/views"
    tags = ["views"]

    @get("/", summary="Your views (built in and saved) with how many tickets each holds")
    async def index(self, actor: Actor, db_session: AsyncSession, now: datetime) -> list[ViewOut]:
        views = await views_of(db_session, actor, now=now)
        counts = await count_tickets(db_session, actor, views)
        return [view_out(v, c, actor) for v, c in zip(views, counts, strict=True)]

    @get("/{key:str}/tickets", summary="A view's tickets, newest first, paged by cursor")
    async def tickets(
        self,
        key: Annotated[str, Parameter(max_length=40, description="a built-in name or an id")],
        actor: Actor,
        db_session: AsyncSession,
        now: datetime,
        limit: Limit = DEFAULT_LIMIT,
        cursor: str | None = None,
        ids: TicketIds = None,
    ) -> Page[ViewTicket]:
        view = await access_view(db_session, actor, key, now=now)
        rows, next_cursor = await view_tickets(
            db_session, actor, view, limit=limit, cursor=cursor, ids=ids or ()
        )
        return Page(items=[view_ticket(t, c) for t, c in rows], next_cursor=next_cursor)

    @post("/", summary="Save a view: personal, or shared with a team or everyone")
    async def create(
        self, data: SavedViewCreate, actor: Actor, db_session: AsyncSession
    ) -> ViewOut:
        row = await do_create_view(db_session, actor, data)
        view = View(str(row.id), row.name, filters_of(row.filters, actor), row)
        [count] = await count_tickets(db_session, actor, [view])
        return view_out(view, count, actor)

    @patch("/{view_id:int}", summary="Change a saved view (its owner; supervisors for shared)")
    async def update(
        self, view_id: int, data: SavedViewUpdate, actor: Actor, db_session: AsyncSession
    ) -> ViewOut:
        row = await do_update_view(db_session, actor, view_id, data)
        view = View(str(row.id), row.name, filters_of(row.filters, actor), row)
        [count] = await count_tickets(db_session, actor, [view])
        return view_out(view, count, actor)

    @delete("/{view_id:int}", summary="Delete a saved view (its owner; supervisors for shared)")
    async def remove(self, view_id: int, actor: Actor, db_session: AsyncSession) -> None:
        await do_delete_view(db_session, actor, view_id)
