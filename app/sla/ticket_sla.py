"""The `sla` every ticket shows (app.tickets.schemas imports it, so it imports nothing of
the ticket package)."""

from __future__ import annotations

from datetime import datetime

from app.schemas import Output


class TicketSlaTarget(Output):
    metric: str
    cycle: int
    status: str  # running, paused, met or breached
    started_at: datetime
    due_at: datetime | None
    warning_at: datetime | None
    met_at: datetime | None
    breached_at: datetime | None
    overridden: bool = False


class TicketSla(Output):
    """A ticket's `sla`: the policy that applies and each target cycle, as of its last
    change (a breach the scheduler fired since is marked at once)."""

    policy_id: int
    targets: list[TicketSlaTarget]


__all__ = ["TicketSla", "TicketSlaTarget"]
