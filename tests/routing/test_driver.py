"""The driver on a real database: capacity and skills hold, every decision says why, and a
waiting ticket's history does not grow at every round."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from app.db.engine import SessionMaker
from app.routing.models import RoutingDecision
from routing.driver import RoutingDriver
from tests.conftest import FrozenClock
from tests.factories.agents import make_skill, make_team
from tests.routing.driver_support import assignees, decisions_of, staff, waiting_ticket


async def test_routing_fills_agents_to_capacity_and_no_further(
    sessionmaker: SessionMaker, clock: FrozenClock
) -> None:
    async with sessionmaker() as session, session.begin():
        team = await make_team(session)
        ann = await staff(session, now=clock(), capacity={"email": 2}, team_ids=[team.id])
        bob = await staff(session, now=clock(), capacity={"email": 1}, team_ids=[team.id])
        tickets = [
            (await waiting_ticket(session, now=clock(), team_id=team.id)).id for _ in range(5)
        ]
    driver = RoutingDriver(sessionmaker, clock=clock)
    first = await driver.route()
    again = await driver.route()
    async with sessionmaker() as session:
        held = await assignees(session, tickets)
    assert len(first.assigned) == 3
    assert again.assigned == []
    assert sorted(a for a in held.values() if a is not None) == sorted([ann.id, ann.id, bob.id])
    assert list(held.values()).count(None) == 2


async def test_a_ticket_goes_only_to_an_agent_with_the_skill_at_its_level(
    sessionmaker: SessionMaker, clock: FrozenClock
) -> None:
    async with sessionmaker() as session, session.begin():
        billing = await make_skill(session, name="billing")
        novice = await staff(session, now=clock(), skills={billing.id: 2})
        expert = await staff(session, now=clock(), skills={billing.id: 4})
        await staff(session, now=clock())  # no skills at all
        ticket = await waiting_ticket(session, now=clock(), required=[(billing.id, 3)])
    result = await RoutingDriver(sessionmaker, clock=clock).route(ticket_ids=[ticket.id])
    assert result.assigned == [(ticket.id, expert.id)]
    async with sessionmaker() as session:
        [decision] = await decisions_of(session, ticket.id)
    assert decision.action == "assign"
    assert decision.agent_id == expert.id
    assert f"agent {expert.id}" in decision.reason
    candidates = {
        c["agent_id"]: c for tier in decision.explanation["tiers"] for c in tier["candidates"]
    }
    assert [r["code"] for r in candidates[novice.id]["rejections"]] == ["skill_too_low"]
    assert candidates[expert.id]["eligible"] is True


async def test_offline_paused_and_capacity_less_agents_get_nothing(
    sessionmaker: SessionMaker, clock: FrozenClock
) -> None:
    async with sessionmaker() as session, session.begin():
        await staff(session, now=clock(), presence="offline")
        await staff(session, now=clock(), presence="away")
        paused = await staff(session, now=clock())
        paused.routing_paused = True
        await staff(session, now=clock(), capacity={"chat": 3})  # takes no email
        ticket = await waiting_ticket(session, now=clock())
    driver = RoutingDriver(sessionmaker, clock=clock)
    assert (await driver.route()).assigned == []
    assert (await driver.route(ticket_ids=[ticket.id])).assigned == []
    async with sessionmaker() as session:
        [wait] = await decisions_of(session, ticket.id)
    assert wait.action == "wait"
    assert wait.reason == (
        "waits: none of 4 agents can take it "
        "(1 no capacity for channel, 2 not online, 1 routing paused)"
    )


async def test_a_ticket_waiting_for_the_same_reason_records_it_once(
    sessionmaker: SessionMaker, clock: FrozenClock
) -> None:
    async with sessionmaker() as session, session.begin():
        ticket = await waiting_ticket(session, now=clock())
    driver = RoutingDriver(sessionmaker, clock=clock)
    for _ in range(3):
        await driver.route(ticket_ids=[ticket.id])
    async with sessionmaker() as session, session.begin():
        await staff(session, now=clock(), presence="away")
    await driver.route(ticket_ids=[ticket.id])
    async with sessionmaker() as session:
        reasons = [d.reason for d in await decisions_of(session, ticket.id)]
    assert reasons == [
        "waits: no agent in the queue's team",
        "waits: none of 1 agents can take it (1 not online)",
    ]


async def test_the_most_urgent_ticket_gets_the_one_free_place(
    sessionmaker: SessionMaker, clock: FrozenClock
) -> None:
    async with sessionmaker() as session, session.begin():
        agent = await staff(session, now=clock(), capacity={"email": 1})
        clock.now -= timedelta(minutes=10)
        older = await waiting_ticket(session, now=clock(), priority="normal")
        clock.now += timedelta(minutes=10)
        urgent = await waiting_ticket(session, now=clock(), priority="urgent")
    result = await RoutingDriver(sessionmaker, clock=clock).route()
    assert result.assigned == [(urgent.id, agent.id)]
    async with sessionmaker() as session:
        assert (await assignees(session, [older.id]))[older.id] is None


async def test_an_assignment_goes_through_the_lifecycle(
    sessionmaker: SessionMaker, clock: FrozenClock
) -> None:
    from app.tickets.events import TicketEvent

    async with sessionmaker() as session, session.begin():
        agent = await staff(session, now=clock())
        ticket = await waiting_ticket(session, now=clock())
    await RoutingDriver(sessionmaker, clock=clock).route(ticket_ids=[ticket.id])
    async with sessionmaker() as session:
        events = (
            await session.scalars(
                select(TicketEvent)
                .where(TicketEvent.ticket_id == ticket.id)
                .order_by(TicketEvent.seq)
            )
        ).all()
        decision = await session.scalar(
            select(RoutingDecision).where(RoutingDecision.ticket_id == ticket.id)
        )
    assert [e.type for e in events] == ["ticket.created", "message.created", "ticket.updated"]
    assigned = events[-1]
    assert assigned.actor_type == "system"
    assert assigned.data["changes"] == {"assignee_id": {"from": None, "to": agent.id}}
    assert assigned.data["routing"]["reason"] == decision.reason if decision else False


async def test_round_robin_records_a_never_assigned_agent_as_null_not_infinity(
    sessionmaker: SessionMaker, clock: FrozenClock
) -> None:
    """JSON has no infinity: the score of an agent never assigned on the channel (round
    robin's longest wait) is stored as null, and the decision is recorded."""
    from app.routing.models import RoutingQueue

    async with sessionmaker() as session, session.begin():
        team = await make_team(session)
        session.add(RoutingQueue(team_id=team.id, strategy="round_robin"))
        agent = await staff(session, now=clock(), team_ids=[team.id])
        ticket = await waiting_ticket(session, now=clock(), team_id=team.id)
    result = await RoutingDriver(sessionmaker, clock=clock).route()
    assert result.assigned == [(ticket.id, agent.id)]
    async with sessionmaker() as session:
        [decision] = await decisions_of(session, ticket.id)
    [candidate] = [c for tier in decision.explanation["tiers"] for c in tier["candidates"]]
    assert candidate["agent_id"] == agent.id
    assert candidate["score"][0] is None
