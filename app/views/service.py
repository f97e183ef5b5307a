"""The sidebar's views: the built-in ones every agent has, the saved ones they keep or
share (app.sharing), how many tickets each holds, and the tickets of one, page by page.

Every count and list goes through `readable_tickets`, so an agent never learns of a ticket
outside their teams, not even as a number.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import msgspec
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.agents.models import Team
from app.auth.actor import Actor
from app.contacts.models import Contact
from app.errors import NotFound, ValidationFailed
from app.pagination import page_of, paginate
from app.sharing import check_can_change, check_sharing, visible_to
from app.tickets.models import ACTIVE_STATUSES, Ticket
from app.tickets.repository import TicketFilters, readable_tickets
from app.views.models import SavedView
from app.views.schemas import SavedViewCreate, SavedViewUpdate, ViewFilters

# The statuses that still need work: what "mine", "unassigned" and the team views list
# (a partial index of the tickets table covers exactly these; see Ticket).
ACTIVE = ACTIVE_STATUSES
SOLVED_RECENTLY = timedelta(days=7)
MAX_SAVED_VIEWS = 50  # per agent: the sidebar stays a sidebar


@dataclass(frozen=True)
class BuiltIn:
    key: str
    name: str
    filters: Callable[[Actor, datetime], TicketFilters]
    shown: Callable[[Actor], bool] = lambda actor: True


BUILT_IN = (
    BuiltIn("mine", "Mine", lambda a, _: TicketFilters(status=ACTIVE, assignee_id=a.agent_id)),
    BuiltIn("unassigned", "Unassigned", lambda a, _: TicketFilters(status=ACTIVE, unassigned=True)),
    BuiltIn(
        "my_teams",
        "My teams",
        lambda a, _: TicketFilters(status=ACTIVE, team_ids=tuple(sorted(a.team_ids))),
        shown=lambda a: bool(a.team_ids),
    ),
    BuiltIn(
        "all", "All open", lambda a, _: TicketFilters(status=ACTIVE), lambda a: a.sees_all_tickets
    ),
    BuiltIn("pending", "Pending", lambda a, _: TicketFilters(status=("pending",))),
    BuiltIn(
        "solved_recently",
        "Solved recently",
        lambda a, now: TicketFilters(status=("solved",), solved_after=now - SOLVED_RECENTLY),
    ),
)
BUILT_IN_BY_KEY = {view.key: view for view in BUILT_IN}


@dataclass(frozen=True)
class View:
    """A view resolved for one actor: what it lists and, when saved, its row."""

    key: str
    name: str
    filters: TicketFilters
    saved: SavedView | None = None


def filters_of(document: dict[str, Any], actor: Actor) -> TicketFilters:
    stored = msgspec.convert(document, ViewFilters)
    assignee = stored.assignee
    return TicketFilters(
        status=tuple(stored.status),
        priority=tuple(stored.priority),
        assignee_id=actor.agent_id if assignee == "me" else assignee,  # type: ignore[arg-type]
        unassigned=assignee == "none",
        team_id=stored.team_id,
        inbox_id=stored.inbox_id,
        channel=stored.channel,
        tag=stored.tag.lower() if stored.tag else None,
    )


async def saved_views_of(session: AsyncSession, actor: Actor) -> list[SavedView]:
    """The saved views the actor sees: their own first, then shared ones, by name."""
    stmt = (
        select(SavedView)
        .where(visible_to(SavedView, actor))
        .order_by((SavedView.owner_id == actor.agent_id).desc(), SavedView.name, SavedView.id)
    )
    return list((await session.scalars(stmt)).all())


async def views_of(session: AsyncSession, actor: Actor, *, now: datetime) -> list[View]:
    built_in = [
        View(view.key, view.name, view.filters(actor, now))
        for view in BUILT_IN
        if view.shown(actor)
    ]
    saved = [
        View(str(row.id), row.name, filters_of(row.filters, actor), row)
        for row in await saved_views_of(session, actor)
    ]
    return built_in + saved


async def count_tickets(session: AsyncSession, actor: Actor, views: list[View]) -> list[int]:
    """Each view's ticket count, all in one statement (one round trip for the sidebar)."""
    if not views:
        return []
    counts = [
        readable_tickets(actor, view.filters)
        .with_only_columns(func.count())
        .scalar_subquery()
        .label(f"c{n}")
        for n, view in enumerate(views)
    ]
    row = (await session.execute(select(*counts))).one()
    return [int(value) for value in row]


async def access_view(session: AsyncSession, actor: Actor, key: str, *, now: datetime) -> View:
    if key in BUILT_IN_BY_KEY and BUILT_IN_BY_KEY[key].shown(actor):
        view = BUILT_IN_BY_KEY[key]
        return View(view.key, view.name, view.filters(actor, now))
    row = await access_saved_view(session, actor, int(key)) if key.isdigit() else None
    if row is None:
        raise NotFound(f"view {key} does not exist")
    return View(str(row.id), row.name, filters_of(row.filters, actor), row)


async def access_saved_view(
    session: AsyncSession, actor: Actor, view_id: int, *, for_update: bool = False
) -> SavedView:
    """The saved view if the actor sees it; another agent's personal view is a 404."""
    stmt = select(SavedView).where(SavedView.id == view_id, visible_to(SavedView, actor))
    row = await session.scalar(stmt.with_for_update() if for_update else stmt)
    if row is None:
        raise NotFound(f"view {view_id} does not exist")
    return row


async def view_tickets(
    session: AsyncSession,
    actor: Actor,
    view: View,
    *,
    limit: int,
    cursor: str | None,
    ids: Sequence[int] = (),
) -> tuple[list[tuple[Ticket, Contact]], str | None]:
    """A page of the view's tickets, newest first, each with its contact (one query).
    `ids`: only those of these tickets that are in the view (a live list checking whether
    the tickets it heard changed are still in it)."""
    readable = readable_tickets(actor, view.filters)
    if ids:
        readable = readable.where(Ticket.id.in_(sorted(set(ids))))
    tickets = paginate(readable, Ticket.id, limit=limit, cursor=cursor)
    inner = tickets.subquery()
    stmt = (
        select(Ticket, Contact)
        .join(inner, inner.c.id == Ticket.id)
        .join(Contact, Contact.id == Ticket.contact_id)
        .order_by(Ticket.id.desc())
    )
    rows = [(ticket, contact) for ticket, contact in (await session.execute(stmt)).all()]
    return page_of(rows, limit=limit, id_of=lambda row: row[0].id)


async def check_view_team(session: AsyncSession, team_id: int | None) -> None:
    if team_id is not None and await session.get(Team, team_id) is None:
        raise ValidationFailed.field("team_id", f"no team with id {team_id}")


async def do_create_view(session: AsyncSession, actor: Actor, data: SavedViewCreate) -> SavedView:
    check_sharing(actor, data.visibility, data.team_id)
    await check_view_team(session, data.team_id)
    owned = await session.scalar(select(func.count()).where(SavedView.owner_id == actor.agent_id))
    if (owned or 0) >= MAX_SAVED_VIEWS:
        raise ValidationFailed.field("name", f"you have {MAX_SAVED_VIEWS} saved views already")
    row = SavedView(
        name=data.name.strip(),
        owner_id=actor.agent_id,
        visibility=data.visibility,
        team_id=data.team_id,
        filters=msgspec.to_builtins(data.filters),
    )
    session.add(row)
    await session.flush()
    return row


async def do_update_view(
    session: AsyncSession, actor: Actor, view_id: int, data: SavedViewUpdate
) -> SavedView:
    row = await access_saved_view(session, actor, view_id, for_update=True)
    check_can_change(actor, row, "view")
    visibility = row.visibility if data.visibility is msgspec.UNSET else data.visibility
    team_id = row.team_id if data.team_id is msgspec.UNSET else data.team_id
    if visibility != "team" and data.team_id is msgspec.UNSET:
        team_id = None  # leaving a team share drops the team
    if (visibility, team_id) != (row.visibility, row.team_id):
        check_sharing(actor, visibility, team_id)
        await check_view_team(session, team_id)
        row.visibility, row.team_id = visibility, team_id
    if data.name is not msgspec.UNSET:
        row.name = data.name.strip()
    if data.filters is not msgspec.UNSET:
        row.filters = msgspec.to_builtins(data.filters)
    await session.flush()
    await session.refresh(row)
    return row


async def do_delete_view(session: AsyncSession, actor: Actor, view_id: int) -> None:
    row = await access_saved_view(session, actor, view_id, for_update=True)
    check_can_change(actor, row, "view")
    await session.delete(row)
    await session.flush()
