"""The `sla` every ticket shows (app.tickets.schemas imports it, so it imports nothing of
the ticket package)."""

from __future__ import annotations

from datetime import datetime

from app.schemas import Output


class TicketSlaTarget(Output):
    """A customer target (`team_id` null) or a group target: the internal one of the team
    `team_id` for a stretch it owned the ticket (its cycles are numbered
    team_id * 10,000 + n, so two teams' never meet)."""

    metric: str
    cycle: int
    status: str  # running, paused, met or breached
    started_at: datetime
    due_at: datetime | None
    warning_at: datetime | None
    met_at: datetime | None
    breached_at: datetime | None
    overridden: bool = False
    policy_id: int | None = None  # the policy the target comes from
    team_id: int | None = None


class TicketSla(Output):
    """A ticket's `sla`: the customer policy that applies (null when only group policies
    do), the group policies of the teams that owned it, and each target cycle, as of its
    last change (a breach the scheduler fired since is marked at once)."""

    policy_id: int | None
    targets: list[TicketSlaTarget]
    group_policy_ids: list[int] = []


__all__ = ["TicketSla", "TicketSlaTarget"]
