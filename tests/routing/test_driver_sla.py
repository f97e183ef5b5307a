"""SLA-first queue order on real data: the SLA hook stores each ticket's soonest due time
and the driver orders the waiting tickets by it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from app.config import Settings
from app.db.engine import SessionMaker
from app.main import build_lifecycle_hooks
from app.sla.models import SlaPolicy
from app.tickets.hooks import install_hooks
from app.tickets.models import Ticket
from routing.driver import RoutingDriver
from tests.conftest import FrozenClock
from tests.routing.driver_support import assignees, staff, waiting_ticket


def _policy(name: str, *, priority: str, minutes: int, position: int) -> SlaPolicy:
    return SlaPolicy(
        name=name,
        position=position,
        conditions={"priority": [priority]},
        pauses={},
        actions={},
        targets=[
            {"metric": "first_response", "priority": priority, "minutes": minutes,
             "business_hours": False}
        ],
    )  # fmt: skip


async def test_the_ticket_due_sooner_is_assigned_first_even_at_a_lower_priority(
    sessionmaker: SessionMaker, settings: Settings, clock: FrozenClock
) -> None:
    install_hooks(sessionmaker, build_lifecycle_hooks(settings))
    async with sessionmaker() as session, session.begin():
        # Low-priority tickets are promised an answer in 10 minutes, high ones in 4 hours.
        session.add(_policy("VIP low", priority="low", minutes=10, position=0))
        session.add(_policy("High", priority="high", minutes=240, position=1))
        await session.flush()
        agent = await staff(session, now=clock(), capacity={"email": 1})
        high = await waiting_ticket(session, now=clock(), priority="high")
        clock.advance(minutes=1)  # the low one is younger too: only its due time wins it
        low = await waiting_ticket(session, now=clock(), priority="low")
        unpromised = await waiting_ticket(session, now=clock(), priority="urgent")
    async with sessionmaker() as session:
        rows = await session.execute(
            select(Ticket.id, Ticket.sla_due_at).where(
                Ticket.id.in_([high.id, low.id, unpromised.id])
            )
        )
        due: dict[int, datetime | None] = {row[0]: row[1] for row in rows}
    low_due, high_due = due[low.id], due[high.id]
    assert low_due is not None
    assert high_due is not None
    assert low_due < high_due
    assert due[unpromised.id] is None

    result = await RoutingDriver(sessionmaker, clock=clock).route()

    assert result.assigned == [(low.id, agent.id)]
    async with sessionmaker() as session:
        held = await assignees(session, [high.id, low.id, unpromised.id])
    assert held == {high.id: None, low.id: agent.id, unpromised.id: None}
