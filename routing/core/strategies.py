"""How a queue picks among eligible agents. Each strategy scores an agent (higher wins);
ties go to the agent idle longest (oldest last assignment on any channel, never
assigned first), then to the lowest id, so the same state always gives the same winner."""

from __future__ import annotations

from datetime import datetime

from routing.core.load import Book
from routing.core.model import QueuedTicket, Strategy

NEVER = float("inf")


def score(strategy: Strategy, book: Book, ticket: QueuedTicket, now: datetime) -> tuple[float, ...]:
    if strategy == "most_spare":
        return (float(book.room(ticket.channel).spare),)
    if strategy == "highest_spare_ratio":
        return (round(book.room(ticket.channel).spare_ratio, 6),)
    if strategy == "round_robin":
        last = book.last_assigned.get(ticket.channel)
        since = NEVER if last is None else (now - last).total_seconds()
        return (since, float(-book.taken_at_step))
    # best_skill_match: cover the most optional skills, then the highest levels.
    skills = book.agent.skills
    optional_met = sum(
        1 for need in ticket.optional_skills if skills.get(need.skill_id, 0) >= need.min_level
    )
    levels = sum(
        skills.get(need.skill_id, 0) for need in ticket.required_skills + ticket.optional_skills
    )
    return (float(optional_met), float(levels))


def tie_break(book: Book, now: datetime) -> tuple[float, int, int]:
    """Longest idle first (within a round: taken earliest), then the lowest id."""
    last = book.last_assignment()
    idle = NEVER if last is None else (now - last).total_seconds()
    return (idle, -book.taken_at_step, -book.agent.id)
