"""Loading the routing model (`routing.core.model`) from PostgreSQL.

Lean column queries, no ORM objects: a sweep reads every waiting ticket and every active
agent, and the model is rebuilt for each round (it is plain frozen data).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, cast

from sqlalchemy import Select, and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.agents.models import Agent as AgentRow
from app.agents.models import AgentSkill, team_members
from app.agents.service import channel_states
from app.auth.models import ApiToken
from app.routing.models import (
    AgentChannelRouting,
    RoutingOffer,
    RoutingQueue,
    RoutingSettings,
    TicketRouting,
)
from app.tickets.models import Ticket
from routing.core.model import (
    Agent,
    ChannelPresence,
    ChannelSlots,
    HeldTicket,
    PresenceStatus,
    Queue,
    QueuedTicket,
    RoutingRules,
    SkillNeed,
)

# Tickets waiting for an agent: unassigned, not done, not merged away.
WAITING_STATUSES = ("new", "open")
NO_TEAM_QUEUE = 0  # the queue of tickets without a team, when none is configured
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def seconds(value: int | None) -> timedelta | None:
    return None if value is None else timedelta(seconds=value)


async def load_rules(session: AsyncSession) -> RoutingRules:
    row = await session.get(RoutingSettings, 1)
    if row is None:
        return RoutingRules()
    return RoutingRules(
        counted_statuses=frozenset(row.counted_statuses),
        count_idle_chats=row.count_idle_chats,
        idle_timeout=seconds(row.idle_timeout_seconds),
        offline_grace=timedelta(seconds=row.offline_grace_seconds),
        team_limits={int(k): int(v) for k, v in row.team_limits.items()},
        inbox_limits={int(k): int(v) for k, v in row.inbox_limits.items()},
        presence_after_decline=cast("PresenceStatus | None", row.presence_after_decline),
        presence_after_timeout=cast("PresenceStatus | None", row.presence_after_timeout),
    )


@dataclass(frozen=True)
class Queues:
    """The queues in precedence order, and which queue a ticket waits in: its team's, else
    its inbox's (a queue configured for the inbox), else the queue of no team."""

    queues: tuple[Queue, ...]
    by_team: Mapping[int | None, int]
    by_inbox: Mapping[int, int] = field(default_factory=dict)

    def queue_of(self, team_id: int | None, inbox_id: int | None = None) -> int:
        if team_id is None and inbox_id is not None and inbox_id in self.by_inbox:
            return self.by_inbox[inbox_id]
        found = self.by_team.get(team_id)
        if found is not None:
            return found
        return NO_TEAM_QUEUE if team_id is None else -team_id

    def get(self, queue_id: int) -> Queue | None:
        return next((q for q in self.queues if q.id == queue_id), None)


async def load_queues(session: AsyncSession) -> Queues:
    """Configured queues first (by position), then a default queue for every other team
    (id: minus the team id) and for tickets without a team (id 0)."""
    rows = (
        await session.scalars(select(RoutingQueue).order_by(RoutingQueue.position, RoutingQueue.id))
    ).all()
    queues = [
        Queue(
            row.id,
            team_id=row.team_id,
            order=cast("Literal['sla_first', 'priority_first']", row.queue_order),
            strategy=cast("Any", row.strategy),
            sticky=row.sticky,
            drop_optional_after=seconds(row.drop_optional_after_seconds),
            overflow_after=seconds(row.overflow_after_seconds),
            overflow_team_ids=tuple(row.overflow_team_ids),
            offer_timeout=seconds(row.offer_timeout_seconds),
        )
        for row in rows
    ]
    by_inbox = {row.inbox_id: row.id for row in rows if row.inbox_id is not None}
    by_team: dict[int | None, int] = {row.team_id: row.id for row in rows if row.inbox_id is None}
    teams = (await session.scalars(select(func.distinct(team_members.c.team_id)))).all()
    for team_id in sorted(t for t in teams if t not in by_team):
        queues.append(Queue(-team_id, team_id=team_id))
        by_team[team_id] = -team_id
    if None not in by_team:
        queues.append(Queue(NO_TEAM_QUEUE))
        by_team[None] = NO_TEAM_QUEUE
    return Queues(tuple(queues), by_team, by_inbox)


def _capacity(raw: Mapping[str, Any]) -> ChannelSlots:
    return ChannelSlots({str(k): int(v) for k, v in raw.items() if isinstance(v, int)})


async def load_agents(
    session: AsyncSession, rules: RoutingRules, *, ids: Collection[int] | None = None
) -> tuple[Agent, ...]:
    """Active agents with what they hold (tickets in a counted status, open offers). API
    calls count as activity: a token's `last_used_at` (kept to the minute) is part of it."""
    token_use = (
        select(func.max(ApiToken.last_used_at))
        .where(ApiToken.agent_id == AgentRow.id)
        .scalar_subquery()
    )
    stmt = select(
        AgentRow.id,
        AgentRow.capacity,
        AgentRow.presence,
        AgentRow.presence_choice,
        AgentRow.presence_since,
        AgentRow.channel_presence,
        AgentRow.last_seen_at,
        func.greatest(AgentRow.last_activity_at, token_use),
        AgentRow.routing_paused,
    ).where(AgentRow.is_active.is_(True))
    if ids is not None:
        stmt = stmt.where(AgentRow.id.in_(list(ids)))
    rows = (await session.execute(stmt.order_by(AgentRow.id))).all()
    wanted = [r[0] for r in rows]
    if not wanted:
        return ()
    skills: dict[int, dict[int, int]] = defaultdict(dict)
    for agent_id, skill_id, level in await session.execute(
        select(AgentSkill.agent_id, AgentSkill.skill_id, AgentSkill.level).where(
            AgentSkill.agent_id.in_(wanted)
        )
    ):
        skills[agent_id][skill_id] = level
    teams: dict[int, set[int]] = defaultdict(set)
    for member_team, member in await session.execute(
        select(team_members.c.team_id, team_members.c.agent_id).where(
            team_members.c.agent_id.in_(wanted)
        )
    ):
        teams[member].add(member_team)
    held: dict[int, list[HeldTicket]] = defaultdict(list)
    for ticket_id, holder, channel, status, inbox_id, team_id in await session.execute(
        select(
            Ticket.id, Ticket.assignee_id, Ticket.channel, Ticket.status, Ticket.inbox_id,
            Ticket.team_id,
        ).where(Ticket.assignee_id.in_(wanted), Ticket.status.in_(sorted(rules.counted_statuses)))
    ):  # fmt: skip
        if holder is not None:
            held[holder].append(HeldTicket(ticket_id, channel, status, inbox_id, team_id))
    for ticket_id, agent_id, channel, inbox_id, team_id in await session.execute(
        select(
            RoutingOffer.ticket_id, RoutingOffer.agent_id, RoutingOffer.channel, Ticket.inbox_id,
            Ticket.team_id,
        )
        .join(Ticket, Ticket.id == RoutingOffer.ticket_id)
        .where(RoutingOffer.status == "pending", RoutingOffer.agent_id.in_(wanted))
    ):  # fmt: skip
        held[agent_id].append(
            HeldTicket(ticket_id, channel, "new", inbox_id, team_id, offered=True)
        )
    assigned: dict[int, dict[str, datetime]] = defaultdict(dict)
    for agent_id, channel, at in await session.execute(
        select(
            AgentChannelRouting.agent_id,
            AgentChannelRouting.channel,
            AgentChannelRouting.last_assigned_at,
        ).where(AgentChannelRouting.agent_id.in_(wanted))
    ):
        assigned[agent_id][channel] = at
    agents = []
    for agent_id, capacity, presence, chosen, since, own, seen, active_at, paused in rows:
        slots = _capacity(capacity or {})
        moment = since or seen or EPOCH
        channels = channel_states(presence, chosen, moment, own or {})
        agents.append(
            Agent(
                agent_id,
                slots,
                skills=skills.get(agent_id, {}),
                primary_teams=frozenset(teams.get(agent_id, ())),
                presence={
                    c: ChannelPresence(
                        cast("PresenceStatus", state.status),
                        state.since or moment,
                        last_activity_at=active_at,
                    )
                    for c, state in channels.items()
                },
                routing_paused=paused,
                held=tuple(held.get(agent_id, ())),
                last_assigned_at=assigned.get(agent_id, {}),
            )
        )
    return tuple(agents)


def _needs(raw: Iterable[Mapping[str, Any]] | None) -> tuple[SkillNeed, ...]:
    return tuple(SkillNeed(int(n["skill_id"]), int(n.get("min_level", 1))) for n in raw or ())


def waiting_tickets() -> Select[*tuple[Any, ...]]:
    """Tickets routing may hand out: waiting, and not offered to anyone right now."""
    offered = (
        select(RoutingOffer.id)
        .where(RoutingOffer.ticket_id == Ticket.id, RoutingOffer.status == "pending")
        .exists()
    )
    return (
        select(
            Ticket.id,
            Ticket.team_id,
            Ticket.channel,
            Ticket.priority,
            Ticket.inbox_id,
            Ticket.required_skills,
            Ticket.created_at,
            Ticket.sla_due_at,
            TicketRouting.eligible_since,
            TicketRouting.last_agent_id,
            TicketRouting.refused,
            TicketRouting.optional_skills,
        )
        .outerjoin(TicketRouting, TicketRouting.ticket_id == Ticket.id)
        .where(
            and_(
                Ticket.assignee_id.is_(None),
                Ticket.status.in_(WAITING_STATUSES),
                Ticket.merged_into_id.is_(None),
                ~offered,
            )
        )
    )


async def load_waiting(
    session: AsyncSession,
    queues: Queues,
    *,
    ids: Collection[int] | None = None,
    channels: Collection[str] | None = None,
) -> tuple[QueuedTicket, ...]:
    stmt = waiting_tickets()
    if ids is not None:
        stmt = stmt.where(Ticket.id.in_(list(ids)))
    if channels is not None:
        stmt = stmt.where(Ticket.channel.in_(list(channels)))
    found = []
    for row in await session.execute(stmt):
        (ticket_id, team_id, channel, priority, inbox_id, required, created_at, due_at,
         eligible_since, last_agent_id, refused, optional) = row  # fmt: skip
        found.append(
            QueuedTicket(
                ticket_id,
                queues.queue_of(team_id, inbox_id),
                channel,
                priority,
                eligible_since or created_at,
                inbox_id=inbox_id,
                required_skills=_needs(required),
                optional_skills=_needs(optional),
                next_due_at=due_at,  # the SLA hook's soonest unmet due time: SLA-first order
                last_agent_id=last_agent_id,
                refused_by={int(k): v for k, v in (refused or {}).items()},
            )
        )
    return tuple(found)
