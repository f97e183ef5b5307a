"""Who may take a ticket: the tiers a ticket passes through as it waits, and every reason
an agent is turned down."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from routing.core.explain import Rejection, TierName
from routing.core.load import Book
from routing.core.model import Queue, QueuedTicket, RoutingRules, SkillNeed
from routing.core.presence import effective_presence


@dataclass(frozen=True, slots=True)
class TierPlan:
    name: TierName
    needs: tuple[SkillNeed, ...]
    overflow_pool: bool  # False: the queue's team (primary members); True: the overflow pool


def tier_plans(queue: Queue, ticket: QueuedTicket, now: datetime) -> list[TierPlan]:
    """The team with every skill first; once the ticket has waited long enough, the team
    without the optional skills; after the overflow wait, the overflow pool (the team's
    secondary members and the overflow teams)."""
    waited = now - ticket.eligible_since
    required = ticket.required_skills
    plans = [TierPlan("preferred", required + ticket.optional_skills, overflow_pool=False)]
    if (
        ticket.optional_skills
        and queue.drop_optional_after is not None
        and waited >= queue.drop_optional_after
    ):
        plans.append(TierPlan("optional_dropped", required, overflow_pool=False))
    if queue.overflow_after is not None and waited >= queue.overflow_after:
        plans.append(TierPlan("overflow", required, overflow_pool=True))
    return plans


def rejections(
    book: Book,
    ticket: QueuedTicket,
    needs: tuple[SkillNeed, ...],
    team_id: int | None,
    now: datetime,
    rules: RoutingRules,
) -> tuple[Rejection, ...]:
    """Every reason `book`'s agent cannot take `ticket` now; empty when they can."""
    agent = book.agent
    found = []
    if agent.routing_paused:
        found.append(Rejection("routing_paused", "routing is paused for this agent"))
    presence = effective_presence(agent, ticket.channel, now, rules)
    if presence != "online":
        found.append(Rejection("not_online", f"{presence} on {ticket.channel}"))
    refusal = ticket.refused_by.get(agent.id)
    if refusal == "declined":
        found.append(Rejection("declined", "declined an offer of this ticket"))
    elif refusal == "timed_out":
        found.append(Rejection("offer_timed_out", "let an offer of this ticket time out"))
    for need in needs:
        level = agent.skills.get(need.skill_id)
        if level is None:
            found.append(Rejection("missing_skill", f"lacks skill {need.skill_id}"))
        elif level < need.min_level:
            found.append(
                Rejection(
                    "skill_too_low",
                    f"skill {need.skill_id} at level {level}, needs {need.min_level}",
                )
            )
    room = book.room(ticket.channel)
    if room.total <= 0:
        found.append(Rejection("no_capacity_for_channel", f"takes no {ticket.channel}"))
    elif not room.fits:
        used = room.total - room.spare
        detail = (
            f"{used} of {room.total} {ticket.channel} tickets"
            if room.unit == "tickets"
            else f"{used} of {room.total} units in use, a {ticket.channel} ticket needs {room.need}"
        )
        found.append(Rejection("at_capacity", detail))
    if team_id is not None:
        limit = rules.team_limits.get(team_id)
        if limit is not None and book.by_team.get(team_id, 0) >= limit:
            found.append(Rejection("team_limit", f"holds {limit} of team {team_id}'s tickets"))
    if ticket.inbox_id is not None:
        limit = rules.inbox_limits.get(ticket.inbox_id)
        if limit is not None and book.by_inbox.get(ticket.inbox_id, 0) >= limit:
            found.append(
                Rejection("inbox_limit", f"holds {limit} tickets of inbox {ticket.inbox_id}")
            )
    return tuple(found)
