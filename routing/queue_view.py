"""The queue as supervisors watch it (GET /api/v1/routing/queue): per queue its depth,
oldest waiting ticket and the first tickets in the order routing hands them out, with why
each waits; per skill the depth and oldest; every active agent's presence and load
against capacity. Read with the driver's own loaders and the core's queue order, so the
positions shown are the ones routing uses."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.agents.models import Agent as AgentRow
from app.agents.models import Skill, Team
from app.inboxes.models import Inbox
from app.routing.models import RoutingDecision, RoutingOffer
from app.routing.schemas import (
    AgentLoadOut,
    QueueDepthOut,
    RoutingQueueOut,
    SkillDepthOut,
    WaitingTicketOut,
)
from app.tickets.models import Ticket
from routing.core.load import counts
from routing.core.model import RoutingRules
from routing.core.ordering import order_key
from routing.core.presence import effective_presence
from routing.driver import channels_of
from routing.state import load_agents, load_queues, load_rules, load_waiting

SHOWN_PER_QUEUE = 50


async def queue_snapshot(
    session: AsyncSession, *, now: datetime, shown: int = SHOWN_PER_QUEUE
) -> RoutingQueueOut:
    rules = await load_rules(session)
    queues = await load_queues(session)
    waiting = await load_waiting(session, queues)
    by_queue = defaultdict(list)
    for ticket in waiting:
        by_queue[ticket.queue_id].append(ticket)
    heads = []
    for queue in queues.queues:
        tickets = sorted(by_queue.get(queue.id, []), key=lambda t: order_key(queue, t, rules))
        heads.append((queue, tickets))
    first_ids = [t.id for _, tickets in heads for t in tickets[:shown]]
    meta = {
        row[0]: row[1:]
        for row in await session.execute(
            select(Ticket.id, Ticket.subject).where(Ticket.id.in_(first_ids))
        )
    }
    why = await _why(session, first_ids)
    names = await _queue_names(session, [q.team_id for q, _ in heads], await _inboxes(session))
    inbox_of = {queue_id: inbox_id for inbox_id, queue_id in queues.by_inbox.items()}
    out_queues = [
        QueueDepthOut(
            queue_id=queue.id,
            team_id=queue.team_id,
            inbox_id=inbox_of.get(queue.id),
            name=names.get(
                ("inbox", inbox_of[queue.id]) if queue.id in inbox_of else ("team", queue.team_id),
                "No team",
            ),
            order=queue.order,
            strategy=queue.strategy,
            offers=queue.offer_timeout is not None,
            depth=len(tickets),
            oldest_waiting_since=min((t.eligible_since for t in tickets), default=None),
            tickets=[
                WaitingTicketOut(
                    ticket_id=t.id,
                    subject=str(meta.get(t.id, ("",))[0]),
                    channel=t.channel,
                    priority=t.priority,
                    position=position,
                    waiting_since=t.eligible_since,
                    due_at=t.next_due_at,
                    required_skills=[
                        {"skill_id": n.skill_id, "min_level": n.min_level}
                        for n in t.required_skills
                    ],
                    why=why.get(t.id, "not routed yet: the next round looks at it"),
                )
                for position, t in enumerate(tickets[:shown], start=1)
            ],
        )
        for queue, tickets in heads
    ]
    skill_depth: dict[int, list[datetime]] = defaultdict(list)
    for ticket in waiting:
        for need in ticket.required_skills:
            skill_depth[need.skill_id].append(ticket.eligible_since)
    skill_names = dict(
        (await session.execute(select(Skill.id, Skill.name).where(Skill.id.in_(skill_depth)))).all()
    )
    skills = [
        SkillDepthOut(
            skill_id=skill_id,
            name=str(skill_names.get(skill_id, f"skill {skill_id}")),
            depth=len(times),
            oldest_waiting_since=min(times),
        )
        for skill_id, times in sorted(skill_depth.items())
    ]
    return RoutingQueueOut(
        queues=out_queues, skills=skills, agents=await _agents(session, rules, now=now)
    )


def _name_key(
    queue_id: int, team_id: int | None, inbox_of: dict[int, int]
) -> tuple[str, int | None]:
    return ("inbox", inbox_of[queue_id]) if queue_id in inbox_of else ("team", team_id)


async def _inboxes(session: AsyncSession) -> dict[int, str]:
    return {row[0]: row[1] for row in await session.execute(select(Inbox.id, Inbox.name))}


async def _queue_names(
    session: AsyncSession, team_ids: list[int | None], inboxes: dict[int, str]
) -> dict[tuple[str, int | None], str]:
    wanted = [t for t in team_ids if t is not None]
    names: dict[tuple[str, int | None], str] = {
        ("team", row[0]): row[1]
        for row in await session.execute(select(Team.id, Team.name).where(Team.id.in_(wanted)))
    }
    names |= {("inbox", inbox_id): name for inbox_id, name in inboxes.items()}
    return names


async def _why(session: AsyncSession, ticket_ids: list[int]) -> dict[int, str]:
    """The newest recorded reason of each ticket; an open offer says so instead."""
    if not ticket_ids:
        return {}
    newest = (
        select(func.max(RoutingDecision.id))
        .where(RoutingDecision.ticket_id.in_(ticket_ids))
        .group_by(RoutingDecision.ticket_id)
    )
    found = {
        row[0]: row[1]
        for row in await session.execute(
            select(RoutingDecision.ticket_id, RoutingDecision.reason).where(
                RoutingDecision.id.in_(newest)
            )
        )
    }
    for ticket_id, agent_id, expires in await session.execute(
        select(RoutingOffer.ticket_id, RoutingOffer.agent_id, RoutingOffer.expires_at).where(
            RoutingOffer.ticket_id.in_(ticket_ids), RoutingOffer.status == "pending"
        )
    ):
        found[ticket_id] = f"offered to agent {agent_id} until {expires.isoformat()}"
    return found


async def _agents(
    session: AsyncSession, rules: RoutingRules, *, now: datetime
) -> list[AgentLoadOut]:
    rows = (
        await session.execute(
            select(AgentRow.id, AgentRow.name, AgentRow.presence).where(
                AgentRow.is_active.is_(True)
            )
        )
    ).all()
    agents = await load_agents(session, rules)  # after: its channels are no older
    names = {agent_id: name for agent_id, name, _ in rows}
    overall = {agent_id: presence for agent_id, _, presence in rows}
    out = []
    for agent in agents:
        load: dict[str, int] = dict.fromkeys(channels_of(agent), 0)
        held = [h for h in agent.held if counts(h, rules)]
        for h in held:
            load[h.channel] = load.get(h.channel, 0) + 1
        channel_presence: dict[str, str] = {
            c: effective_presence(agent, c, now, rules) for c in sorted(agent.presence)
        }
        capacity = getattr(agent.capacity, "limits", {})
        out.append(
            AgentLoadOut(
                agent_id=agent.id,
                name=str(names.get(agent.id, "")),
                presence=overall.get(agent.id, "offline"),
                channel_presence=channel_presence,
                routing_paused=agent.routing_paused,
                capacity={str(k): int(v) for k, v in capacity.items()},
                load=load,
                ticket_ids=sorted(h.ticket_id for h in held),
            )
        )
    return out
