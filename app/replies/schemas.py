from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec

from app.messages.schemas import MessageOut
from app.schemas import Id, Input, Output, Tag
from app.sharing import Visibility
from app.tickets.schemas import Priority, Status, TicketOut

ReplyName = Annotated[str, msgspec.Meta(min_length=1, max_length=100, pattern=r"^[^\x00]*\S")]
ReplyBody = Annotated[str, msgspec.Meta(min_length=1, max_length=20_000, pattern=r"^[^\x00]*$")]
Tags = Annotated[list[Tag], msgspec.Meta(max_length=20)]


class CannedReplyCreate(Input):
    name: ReplyName
    body: ReplyBody
    visibility: Visibility = "personal"
    team_id: Id | None = None


class CannedReplyUpdate(Input):
    name: ReplyName | msgspec.UnsetType = msgspec.UNSET
    body: ReplyBody | msgspec.UnsetType = msgspec.UNSET
    visibility: Visibility | msgspec.UnsetType = msgspec.UNSET
    team_id: Id | msgspec.UnsetType | None = msgspec.UNSET


class CannedReplyOut(Output):
    id: int
    name: str
    body: str
    visibility: str
    team_id: int | None
    owner_id: int | None
    editable: bool
    updated_at: datetime


class RenderedReply(Output):
    """A canned reply's text with the ticket's values in place of its placeholders."""

    body: str


class MacroReply(Input):
    body: ReplyBody
    internal: bool = False


class MacroActions(Input):
    """What a macro does, in this order: the reply (or note), then the field changes.
    `assignee`: an agent id, `me` (whoever applies it) or `none`; `team_id` moves the ticket
    to a team, `clear_team` takes it out of its team; what is left out stays as it is."""

    reply: MacroReply | None = None
    status: Status | None = None
    priority: Priority | None = None
    assignee: Literal["me", "none"] | Id | None = None
    team_id: Id | None = None
    clear_team: bool = False
    add_tags: Tags = []
    remove_tags: Tags = []


class MacroCreate(Input):
    name: ReplyName
    actions: MacroActions
    visibility: Visibility = "personal"
    team_id: Id | None = None


class MacroUpdate(Input):
    name: ReplyName | msgspec.UnsetType = msgspec.UNSET
    actions: MacroActions | msgspec.UnsetType = msgspec.UNSET
    visibility: Visibility | msgspec.UnsetType = msgspec.UNSET
    team_id: Id | msgspec.UnsetType | None = msgspec.UNSET


class MacroOut(Output):
    id: int
    name: str
    actions: MacroActions
    visibility: str
    team_id: int | None
    owner_id: int | None
    editable: bool
    updated_at: datetime


class MacroApply(Input):
    ticket_id: Id
    # As on a reply: a ticket changed after this seq is a 409 and nothing is applied.
    expected_seq: Annotated[int, msgspec.Meta(ge=0, le=2**63 - 1)] | None = None


class MacroApplied(Output):
    ticket: TicketOut
    message: MessageOut | None
