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


PAUSED = Rejection("routing_paused", "routing is paused for this agent")
DECLINED = Rejection("declined", "declined an offer of this ticket")
TIMED_OUT = Rejection("offer_timed_out", "let an offer of this ticket time out")


class Screen:
    """Every reason an agent cannot take a ticket, for one round at one instant.

    What depends on the agent alone (paused, presence, room on a channel) is worked out
    once per agent and channel and kept until the agent takes a ticket (`taken`): a round
    asks about the same agents for thousands of tickets."""

    def __init__(self, rules: RoutingRules, now: datetime) -> None:
        self.rules = rules
        self.now = now
        self._standing: dict[tuple[int, str], tuple[Rejection, ...]] = {}
        self._room: dict[int, dict[str, Rejection | None]] = {}

    def rejections(
        self,
        book: Book,
        ticket: QueuedTicket,
        needs: tuple[SkillNeed, ...],
        team_id: int | None,
    ) -> tuple[Rejection, ...]:
        """Empty when `book`'s agent can take `ticket` now."""
        agent, channel = book.agent, ticket.channel
        found = list(self._standing_of(book, channel))
        if ticket.refused_by:
            refusal = ticket.refused_by.get(agent.id)
            if refusal is not None:
                found.append(DECLINED if refusal == "declined" else TIMED_OUT)
        skills = agent.skills
        for need in needs:
            level = skills.get(need.skill_id)
            if level is None:
                found.append(Rejection("missing_skill", f"lacks skill {need.skill_id}"))
            elif level < need.min_level:
                detail = f"skill {need.skill_id} at level {level}, needs {need.min_level}"
                found.append(Rejection("skill_too_low", detail))
        room = self._room_of(book, channel)
        if room is not None:
            found.append(room)
        rules = self.rules
        if team_id is not None and rules.team_limits:
            limit = rules.team_limits.get(team_id)
            if limit is not None and book.by_team.get(team_id, 0) >= limit:
                detail = f"holds {limit} of team {team_id}'s tickets"
                found.append(Rejection("team_limit", detail))
        if ticket.inbox_id is not None and rules.inbox_limits:
            limit = rules.inbox_limits.get(ticket.inbox_id)
            if limit is not None and book.by_inbox.get(ticket.inbox_id, 0) >= limit:
                detail = f"holds {limit} tickets of inbox {ticket.inbox_id}"
                found.append(Rejection("inbox_limit", detail))
        return tuple(found)

    def taken(self, book: Book) -> None:
        """`book`'s agent took a ticket: their room has changed."""
        self._room.pop(book.agent.id, None)

    def _standing_of(self, book: Book, channel: str) -> tuple[Rejection, ...]:
        key = (book.agent.id, channel)
        found = self._standing.get(key)
        if found is None:
            reasons = [PAUSED] if book.agent.routing_paused else []
            presence = effective_presence(book.agent, channel, self.now, self.rules)
            if presence != "online":
                reasons.append(Rejection("not_online", f"{presence} on {channel}"))
            found = self._standing[key] = tuple(reasons)
        return found

    def _room_of(self, book: Book, channel: str) -> Rejection | None:
        known = self._room.setdefault(book.agent.id, {})
        if channel in known:
            return known[channel]
        room = book.room(channel)
        found = None
        if room.total <= 0:
            found = Rejection("no_capacity_for_channel", f"takes no {channel}")
        elif not room.fits:
            used = room.total - room.spare
            found = Rejection(
                "at_capacity",
                f"{used} of {room.total} {channel} tickets"
                if room.unit == "tickets"
                else f"{used} of {room.total} units in use, a {channel} ticket needs {room.need}",
            )
        known[channel] = found
        return found
