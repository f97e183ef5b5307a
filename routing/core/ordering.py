"""Queue order: which waiting ticket is most urgent."""

from __future__ import annotations

from datetime import datetime

from routing.core.model import Queue, QueuedTicket, RoutingRules

# Sorts after every due time: a ticket without one waits behind those with one.
NO_DUE_TIME = float("inf")


def order_key(
    queue: Queue, ticket: QueuedTicket, rules: RoutingRules
) -> tuple[float, float, int, datetime, int]:
    """Smaller is more urgent. SLA-first: tickets with a next due time before those
    without, soonest first, then priority, then the longest eligible. Priority-first:
    priority, then the same. The id makes the order total."""
    due = NO_DUE_TIME if ticket.next_due_at is None else ticket.next_due_at.timestamp()
    rank = priority_rank(ticket.priority, rules)
    if queue.order == "sla_first":
        return (due, 0.0, rank, ticket.eligible_since, ticket.id)
    return (float(rank), due, 0, ticket.eligible_since, ticket.id)


def priority_rank(priority: str, rules: RoutingRules) -> int:
    """0 is the most urgent; an unknown priority ranks last."""
    try:
        return rules.priorities.index(priority)
    except ValueError:
        return len(rules.priorities)
