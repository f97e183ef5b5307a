from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec

from app.schemas import Id, Input, Output

# PostgreSQL text cannot hold NUL: refuse it here rather than fail at the database.
NO_NUL = r"^[^\x00]*$"
_ADDRESS_PART = r"[^@\s\x00]+"
Email = Annotated[
    str,
    msgspec.Meta(
        min_length=3,
        max_length=320,
        pattern=rf"^{_ADDRESS_PART}@{_ADDRESS_PART}\.{_ADDRESS_PART}$",
    ),
]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200, pattern=NO_NUL)]
Description = Annotated[str, msgspec.Meta(max_length=1000, pattern=NO_NUL)]
SkillName = Annotated[str, msgspec.Meta(min_length=1, max_length=100, pattern=NO_NUL)]

# An https address only: the widget loads it on customers' pages, where http would be
# mixed content and other schemes (javascript:, data:) have no business.
AvatarUrl = Annotated[
    str,
    msgspec.Meta(
        max_length=500,
        pattern=r"^https://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[^\s\x00\"'<>\\]*)?$",
        description="an https URL of an image",
    ),
]

Role = Literal["admin", "supervisor", "agent"]
Presence = Literal["online", "away", "offline"]
Password = Annotated[str, msgspec.Meta(min_length=10, max_length=200)]
Level = Annotated[int, msgspec.Meta(ge=1, le=5)]
Capacity = dict[
    Annotated[str, msgspec.Meta(max_length=20)], Annotated[int, msgspec.Meta(ge=0, le=1000)]
]


class SkillLevel(Output):
    skill_id: int
    name: str
    level: int


class AgentOut(Output):
    id: int
    email: str
    name: str
    avatar_url: str | None
    role: str
    is_active: bool
    presence: str  # overall: what the agent chose for every channel
    channel_presence: dict[str, str]  # per channel, as routing sees it (e.g. chat away)
    capacity: dict[str, Any]
    routing_paused: bool
    team_ids: list[int]
    skills: list[SkillLevel]
    created_at: datetime


class SkillAssignment(Input):
    skill_id: Id
    level: Level


class AgentCreate(Input):
    email: Email
    name: Name
    role: Role
    password: Password
    team_ids: list[Id] = []
    skills: list[SkillAssignment] = []
    capacity: Capacity = {}


class AgentUpdate(Input):
    """Admins may send any field; an agent editing themselves only `SELF_SERVICE_FIELDS`.
    Changing one's own password takes `current_password`; an admin resetting someone
    else's does not."""

    email: Email | msgspec.UnsetType = msgspec.UNSET
    name: Name | msgspec.UnsetType = msgspec.UNSET
    avatar_url: AvatarUrl | msgspec.UnsetType | None = msgspec.UNSET
    role: Role | msgspec.UnsetType = msgspec.UNSET
    password: Password | msgspec.UnsetType = msgspec.UNSET
    current_password: (
        Annotated[str, msgspec.Meta(min_length=1, max_length=200)] | msgspec.UnsetType
    ) = msgspec.UNSET
    is_active: bool | msgspec.UnsetType = msgspec.UNSET
    presence: Presence | msgspec.UnsetType = msgspec.UNSET
    team_ids: list[Id] | msgspec.UnsetType = msgspec.UNSET
    skills: list[SkillAssignment] | msgspec.UnsetType = msgspec.UNSET
    capacity: Capacity | msgspec.UnsetType = msgspec.UNSET
    routing_paused: bool | msgspec.UnsetType = msgspec.UNSET


SELF_SERVICE_FIELDS = frozenset({"name", "avatar_url", "password", "current_password", "presence"})
# What supervisors may change on any agent: they pause routing and balance load.
SUPERVISOR_FIELDS = frozenset({"routing_paused", "capacity"})


class TeamOut(Output):
    id: int
    name: str
    description: str | None
    member_ids: list[int]


class TeamCreate(Input):
    name: Name
    description: Description | None = None
    member_ids: list[Id] = []


class TeamUpdate(Input):
    name: Name | msgspec.UnsetType = msgspec.UNSET
    description: Description | msgspec.UnsetType | None = msgspec.UNSET
    member_ids: list[Id] | msgspec.UnsetType = msgspec.UNSET


class SkillOut(Output):
    id: int
    name: str


class SkillCreate(Input):
    name: SkillName


class SkillUpdate(Input):
    name: SkillName | msgspec.UnsetType = msgspec.UNSET
