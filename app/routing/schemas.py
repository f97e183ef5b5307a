from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec

from app.agents.schemas import Presence, SkillAssignment
from app.schemas import Id, Input, Output

SkillList = Annotated[list[SkillAssignment], msgspec.Meta(max_length=100)]


class DecisionOut(Output):
    id: int
    decided_at: datetime
    action: str  # assign, offer, wait, accepted, declined, timed_out, withdrawn, requeue
    agent_id: int | None
    reason: str
    explanation: dict[str, Any]


class TicketRoutingOut(Output):
    """A ticket's routing: its state and every decision about it, oldest first."""

    ticket_id: int
    eligible_since: datetime | None
    last_agent_id: int | None
    refused: dict[str, str]
    decisions: list[DecisionOut]


ChannelPresences = Annotated[
    dict[Annotated[str, msgspec.Meta(max_length=50)], Annotated[str, msgspec.Meta(max_length=50)]],
    msgspec.Meta(
        max_length=20,
        description='channel -> online, away or offline, e.g. {"chat": "away"}',
    ),
]


class PresenceIn(Input):
    """`status` for every channel (clears the choices per channel), and/or `channels`: a
    status for some channels (`{"chat": "away", "email": "online"}`), on top of it."""

    status: Presence | msgspec.UnsetType = msgspec.UNSET
    channels: ChannelPresences | msgspec.UnsetType = msgspec.UNSET


class ChannelPresenceOut(Output):
    status: str
    since: datetime | None


class PresenceOut(Output):
    """`status` is the overall presence; `channels` what routing sees on each channel (its
    own choice where the agent made one); `chosen` what the agent chose for every channel
    (or the idle timeout or an unanswered offer set for them), held until they change it;
    `disconnected_at`: their last socket closed then, and they go offline on every channel
    once the grace period has passed."""

    agent_id: int
    status: str
    chosen: str | None
    since: datetime | None
    disconnected_at: datetime | None
    channels: dict[str, ChannelPresenceOut]


# --- admin: queues, helpdesk-wide settings, skill rules -----------------------------------

Seconds = Annotated[int, msgspec.Meta(ge=0, le=30 * 86400)]
OfferSeconds = Annotated[int, msgspec.Meta(ge=1, le=3600)]
Position = Annotated[int, msgspec.Meta(ge=0, le=100_000)]
Strategy = Literal["most_spare", "highest_spare_ratio", "round_robin", "best_skill_match"]
QueueOrder = Literal["sla_first", "priority_first"]
TicketStatus = Literal["new", "open", "pending", "on_hold", "solved", "closed"]
Ids = Annotated[list[Id], msgspec.Meta(max_length=50)]
Words = Annotated[list[Annotated[str, msgspec.Meta(min_length=1, max_length=100)]],
                  msgspec.Meta(max_length=50)]  # fmt: skip
Limits = Annotated[dict[Annotated[str, msgspec.Meta(pattern=r"^[1-9][0-9]{0,17}$")],
                        Annotated[int, msgspec.Meta(ge=0, le=1000)]],
                   msgspec.Meta(max_length=500)]  # fmt: skip
Unset = msgspec.UnsetType
UNSET = msgspec.UNSET


class QueueCreate(Input):
    """A team's queue, or an inbox's (for its tickets of no team), or neither: the queue of
    tickets with no team and no inbox queue. `offer_timeout_seconds` null: assign directly;
    else offer to one agent at a time for that long."""

    team_id: Id | None = None
    inbox_id: Id | None = None
    position: Position = 0
    strategy: Strategy = "most_spare"
    order: QueueOrder = "sla_first"
    sticky: bool = True
    drop_optional_after_seconds: Seconds | None = 300
    overflow_after_seconds: Seconds | None = None
    overflow_team_ids: Ids = msgspec.field(default_factory=list)
    offer_timeout_seconds: OfferSeconds | None = None


class QueueUpdate(Input):
    position: Position | Unset = UNSET
    strategy: Strategy | Unset = UNSET
    order: QueueOrder | Unset = UNSET
    sticky: bool | Unset = UNSET
    drop_optional_after_seconds: Seconds | Unset | None = UNSET
    overflow_after_seconds: Seconds | Unset | None = UNSET
    overflow_team_ids: Ids | Unset = UNSET
    offer_timeout_seconds: OfferSeconds | Unset | None = UNSET


class QueueOut(Output):
    id: int
    team_id: int | None
    inbox_id: int | None
    position: int
    strategy: str
    order: str
    sticky: bool
    drop_optional_after_seconds: int | None
    overflow_after_seconds: int | None
    overflow_team_ids: list[int]
    offer_timeout_seconds: int | None


class RoutingSettingsUpdate(Input):
    counted_statuses: Annotated[list[TicketStatus], msgspec.Meta(max_length=6)] | Unset = UNSET
    count_idle_chats: bool | Unset = UNSET
    idle_timeout_seconds: Seconds | Unset | None = UNSET
    offline_grace_seconds: Seconds | Unset = UNSET
    presence_after_decline: Presence | Unset | None = UNSET
    presence_after_timeout: Presence | Unset | None = UNSET
    team_limits: Limits | Unset = UNSET
    inbox_limits: Limits | Unset = UNSET


class RoutingSettingsOut(Output):
    counted_statuses: list[str]
    count_idle_chats: bool
    idle_timeout_seconds: int | None
    offline_grace_seconds: int
    presence_after_decline: str | None
    presence_after_timeout: str | None
    team_limits: dict[str, int]
    inbox_limits: dict[str, int]


class SkillNeedIn(Input):
    skill_id: Id
    min_level: Annotated[int, msgspec.Meta(ge=1, le=5)] = 1


class RuleConditions(Input):
    """Every condition given must hold; each lists the values that match."""

    inbox: Ids | Unset = UNSET
    channel: Words | Unset = UNSET
    language: Words | Unset = UNSET  # the contact's locale, e.g. "fr"
    account_tier: Words | Unset = UNSET


class SkillRuleCreate(Input):
    """A matching ticket needs these skills (or prefers them, `optional`). Keywords match
    whole words of the subject and first message, case-insensitive; none: always."""

    skills: Annotated[list[SkillNeedIn], msgspec.Meta(min_length=1, max_length=20)]
    position: Position = 0
    optional: bool = False
    conditions: RuleConditions = msgspec.field(default_factory=RuleConditions)
    keywords: Words = msgspec.field(default_factory=list)


class SkillRuleUpdate(Input):
    skills: Annotated[list[SkillNeedIn], msgspec.Meta(min_length=1, max_length=20)] | Unset = UNSET
    position: Position | Unset = UNSET
    optional: bool | Unset = UNSET
    conditions: RuleConditions | Unset = UNSET
    keywords: Words | Unset = UNSET


class SkillRuleOut(Output):
    id: int
    position: int
    skills: list[dict[str, int]]
    optional: bool
    conditions: dict[str, list[Any]]
    keywords: list[str]


# --- the queue as supervisors watch it -----------------------------------------------------


class WaitingTicketOut(Output):
    ticket_id: int
    subject: str
    channel: str
    priority: str
    position: int  # 1: the next this queue hands out
    waiting_since: datetime
    due_at: datetime | None
    required_skills: list[dict[str, int]]
    why: str  # the last recorded reason it waits, or that it is offered


class QueueDepthOut(Output):
    queue_id: int
    team_id: int | None
    inbox_id: int | None
    name: str
    order: str
    strategy: str
    offers: bool
    depth: int
    oldest_waiting_since: datetime | None
    tickets: list[WaitingTicketOut]  # the first ones, in queue order


class SkillDepthOut(Output):
    skill_id: int
    name: str
    depth: int
    oldest_waiting_since: datetime | None


class AgentLoadOut(Output):
    agent_id: int
    name: str
    presence: str  # overall
    channel_presence: dict[str, str]  # per channel, as routing sees it now
    routing_paused: bool
    capacity: dict[str, int]
    load: dict[str, int]  # per channel, tickets counting against capacity
    ticket_ids: list[int]


class RoutingQueueOut(Output):
    queues: list[QueueDepthOut]
    skills: list[SkillDepthOut]
    agents: list[AgentLoadOut]
