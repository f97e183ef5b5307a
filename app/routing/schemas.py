from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import msgspec

from app.agents.schemas import Presence, SkillAssignment
from app.schemas import Input, Output

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


class PresenceIn(Input):
    status: Presence


class PresenceOut(Output):
    """`status` is what routing sees; `chosen` what the agent chose (or the idle timeout
    or an unanswered offer set for them), held until they change it; `disconnected_at`:
    their last socket closed then, and they go offline once the grace period has passed."""

    agent_id: int
    status: str
    chosen: str | None
    since: datetime | None
    disconnected_at: datetime | None
