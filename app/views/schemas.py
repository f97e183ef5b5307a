from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from app.schemas import Id, Input, Output, Tag
from app.sharing import Visibility
from app.tickets.schemas import Channel, Priority, Status, TicketOut

ViewName = Annotated[str, msgspec.Meta(min_length=1, max_length=100, pattern=r"^[^\x00]*\S")]


class ViewFilters(Input):
    """Which tickets a saved view lists. `assignee` is an agent id, `me` (whoever looks at
    the view: a team's shared "mine") or `none` (unassigned)."""

    status: Annotated[list[Status], msgspec.Meta(max_length=6)] = []
    priority: Annotated[list[Priority], msgspec.Meta(max_length=4)] = []
    assignee: Literal["me", "none"] | Id | None = None
    team_id: Id | None = None
    inbox_id: Id | None = None
    channel: Channel | None = None
    tag: Tag | None = None


class SavedViewCreate(Input):
    name: ViewName
    filters: ViewFilters
    visibility: Visibility = "personal"
    team_id: Id | None = None


class SavedViewUpdate(Input):
    name: ViewName | msgspec.UnsetType = msgspec.UNSET
    filters: ViewFilters | msgspec.UnsetType = msgspec.UNSET
    visibility: Visibility | msgspec.UnsetType = msgspec.UNSET
    team_id: Id | msgspec.UnsetType | None = msgspec.UNSET


class ViewOut(Output):
    """A view of the sidebar: built in (`key` is its name, `id` null) or saved (`key` is
    its id as text), with how many tickets it holds now."""

    key: str
    kind: Literal["built_in", "saved"]
    name: str
    count: int
    id: int | None = None
    filters: ViewFilters | None = None
    visibility: str | None = None
    team_id: int | None = None
    owner_id: int | None = None
    # Whether the caller may rename, change or delete it.
    editable: bool = False


class ContactBrief(Output):
    id: int
    name: str | None
    email: str | None


class ViewTicket(TicketOut):
    """A row of a ticket list: the ticket with who it is from."""

    contact: ContactBrief
