from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec

from app.inboxes.channels import ChannelName
from app.messages.schemas import Body, MessageOut
from app.schemas import Email, Id, Input, Name, Output, Tag

Status = Literal["new", "open", "pending", "on_hold", "solved", "closed"]
Priority = Literal["low", "normal", "high", "urgent"]
Channel = ChannelName
Subject = Annotated[str, msgspec.Meta(min_length=1, max_length=500)]
Tags = Annotated[list[Tag], msgspec.Meta(max_length=50)]
CustomFields = Annotated[dict[str, Any], msgspec.Meta(max_length=100)]
Unset = msgspec.UnsetType
UNSET = msgspec.UNSET
SkillLevel = Annotated[int, msgspec.Meta(ge=1, le=5)]


class RequiredSkill(Input):
    skill_id: Id
    min_level: SkillLevel = 1


class RequiredSkillOut(Output):
    skill_id: int
    min_level: int


RequiredSkills = Annotated[list[RequiredSkill], msgspec.Meta(max_length=20)]


class TicketOut(Output):
    id: int
    number: int
    subject: str
    status: str
    priority: str
    channel: str
    inbox_id: int | None
    contact_id: int
    account_id: int | None
    assignee_id: int | None
    team_id: int | None
    required_skill_ids: list[int]
    required_skills: list[RequiredSkillOut]
    tags: list[str]
    custom_fields: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    first_responded_at: datetime | None
    solved_at: datetime | None
    closed_at: datetime | None
    last_seq: int
    merged_into_id: int | None
    linked_ticket_id: int | None


class TicketDetail(TicketOut):
    messages: list[MessageOut]


class ContactRef(Input):
    email: Email
    name: Name | None = None


class TicketCreate(Input):
    subject: Subject
    body: Body
    contact: ContactRef
    priority: Priority = "normal"
    channel: Channel = "api"
    tags: Tags = []
    team_id: Id | None = None
    assignee_id: Id | None = None
    custom_fields: CustomFields = {}
    required_skills: RequiredSkills = []


class TicketChanges(Input):
    """Fields left out stay as they are; `null` clears assignee or team."""

    status: Status | Unset = UNSET
    priority: Priority | Unset = UNSET
    subject: Subject | Unset = UNSET
    assignee_id: Id | Unset | None = UNSET
    team_id: Id | Unset | None = UNSET
    tags: Tags | Unset = UNSET
    required_skill_ids: Annotated[list[Id], msgspec.Meta(max_length=20)] | Unset = UNSET
    required_skills: RequiredSkills | Unset = UNSET
    custom_fields: CustomFields | Unset = UNSET


class BulkChanges(Input):
    status: Status | Unset = UNSET
    priority: Priority | Unset = UNSET
    assignee_id: Id | Unset | None = UNSET
    team_id: Id | Unset | None = UNSET
    add_tags: Tags = []
    remove_tags: Tags = []


class BulkUpdate(Input):
    ids: Annotated[list[Id], msgspec.Meta(min_length=1, max_length=500)]
    changes: BulkChanges


class BulkResult(Output):
    id: int
    ok: bool
    error: str | None = None
    code: str | None = None


class BulkOut(Output):
    results: list[BulkResult]


class MergeIn(Input):
    into_id: Id


class EventActorOut(Output):
    type: str  # agent, contact or system
    id: int | None


class TicketEventOut(Output):
    seq: int
    type: str
    at: datetime
    actor: EventActorOut | None
    data: dict[str, Any]


class TicketEventsPage(Output):
    """Events after `since` in seq order; ask again with `since=next_since` for more."""

    items: list[TicketEventOut]
    next_since: int
