"""The ticket status machine and the timestamps each transition sets."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from app.errors import ValidationFailed
from app.tickets.models import Ticket

TRANSITIONS: dict[str, frozenset[str]] = {
    "new": frozenset({"open", "pending", "on_hold", "solved", "closed"}),
    "open": frozenset({"pending", "on_hold", "solved", "closed"}),
    "pending": frozenset({"open", "on_hold", "solved", "closed"}),
    "on_hold": frozenset({"open", "pending", "solved", "closed"}),
    "solved": frozenset({"open", "closed"}),
    # Closed is final: a customer writing again gets a new ticket linked to this one.
    "closed": frozenset(),
}
# Statuses a customer's new message moves back to open (closed is handled by ingest).
REOPENED_BY_CUSTOMER = frozenset({"pending", "solved"})


def check_transition(current: str, target: str) -> None:
    if target != current and target not in TRANSITIONS[current]:
        allowed = ", ".join(sorted(TRANSITIONS[current])) or "none"
        raise ValidationFailed.field(
            "status", f"cannot go from {current} to {target} (allowed: {allowed})"
        )


def status_values(ticket: Ticket, target: str, *, now: datetime) -> dict[str, Any]:
    """The column values that move `ticket` to `target` (empty if it is there already);
    the caller has checked the transition and the lifecycle writes them."""
    if target == ticket.status:
        return {}
    if target == "solved":
        return {"status": target, "solved_at": now}
    if target == "closed":
        return {"status": target, "closed_at": now, "solved_at": ticket.solved_at or now}
    return {"status": target, "solved_at": None}
