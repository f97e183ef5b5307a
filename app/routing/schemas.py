from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import msgspec

from app.agents.schemas import SkillAssignment
from app.schemas import Output

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
