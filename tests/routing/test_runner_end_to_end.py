"""End to end on real commits: a new ticket's lifecycle hook wakes the routing task (NOTIFY
after the commit), which assigns it; no sweep is involved (the sweep is an hour away)."""

from __future__ import annotations

import asyncio
import time

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from app.clock import utc_now
from app.config import Settings
from app.db.engine import SessionMaker, transaction
from app.main import build_lifecycle_hooks
from app.routing.models import RoutingDecision
from app.tickets.hooks import install_hooks
from routing.runner import run_routing
from tests.factories.agents import make_skill
from tests.routing.driver_support import assignees, staff, waiting_ticket

pytestmark = pytest.mark.committing


async def _until(check: object, within: float = 10.0) -> None:
    deadline = time.monotonic() + within
    while not await check():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError("not in time")
        await asyncio.sleep(0.05)


async def test_a_new_ticket_is_assigned_by_the_routing_task_woken_by_its_hook(
    committing_sessionmaker: SessionMaker, engine: AsyncEngine, settings: Settings
) -> None:
    install_hooks(committing_sessionmaker, build_lifecycle_hooks(settings))
    async with transaction(committing_sessionmaker) as session:
        billing = await make_skill(session, name="billing")
        novice = await staff(session, now=utc_now(), skills={billing.id: 1})
        expert = await staff(session, now=utc_now(), skills={billing.id: 4})
    task = asyncio.create_task(
        run_routing(committing_sessionmaker, engine, clock=utc_now, sweep_seconds=3600)
    )
    try:
        await asyncio.sleep(0.5)  # the task's first sweep, on an empty queue
        async with transaction(committing_sessionmaker) as session:
            ticket = await waiting_ticket(
                session, now=utc_now(), subject="Invoice", required=[(billing.id, 3)]
            )
        started = time.monotonic()

        async def assigned() -> bool:
            async with committing_sessionmaker() as session:
                return (await assignees(session, [ticket.id]))[ticket.id] is not None

        await _until(assigned)
        took = time.monotonic() - started
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    async with committing_sessionmaker() as session:
        assert (await assignees(session, [ticket.id])) == {ticket.id: expert.id}
        decision = await session.scalar(
            select(RoutingDecision).where(RoutingDecision.ticket_id == ticket.id)
        )
    assert decision is not None
    assert decision.action == "assign"
    assert novice.id != expert.id
    assert took < 5.0
