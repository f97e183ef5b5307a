"""The SLA scheduler: warnings and breaches fire once each, on time, with actions."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from app.auth.actor import Actor
from app.config import Settings
from app.db.engine import SessionMaker
from app.main import build_lifecycle_hooks
from app.messages.service import do_add_message
from app.sla.models import SlaTargetEvent
from app.tickets.events import TicketEvent
from app.tickets.hooks import install_hooks
from app.tickets.models import Ticket
from routing.sla.scheduler import Fired, fire_due, run_sla_scheduler
from tests.app.sla.factories import make_policy, open_ticket
from tests.conftest import FrozenClock
from tests.factories.agents import make_agent


def _actor(agent_id: int) -> Actor:
    return Actor(agent_id=agent_id, role="admin", team_ids=frozenset(), scopes=frozenset({"write"}))


async def _events(sessionmaker: SessionMaker, ticket_id: int) -> list[str]:
    async with sessionmaker() as session:
        rows = await session.scalars(
            select(TicketEvent.type)
            .where(TicketEvent.ticket_id == ticket_id, TicketEvent.type.like("sla.%"))
            .order_by(TicketEvent.seq)
        )
        return list(rows.all())


async def test_warning_then_breach_fire_once_with_their_actions(
    sessionmaker: SessionMaker, settings: Settings, clock: FrozenClock
) -> None:
    install_hooks(sessionmaker, build_lifecycle_hooks(settings))
    async with sessionmaker() as session, session.begin():
        admin = await make_agent(session, role="admin")
        actions = {
            "warning": [{"type": "add_tag", "tag": "sla-warning"}],
            "breached": [{"type": "raise_priority"}, {"type": "notify", "agent_id": admin.id}],
        }
        await make_policy(session, minutes={"first_response": 60}, actions=actions)
        ticket = await open_ticket(session, _actor(admin.id), now=clock.now, priority="normal")
    created = clock.now

    assert await fire_due(sessionmaker, now=created + timedelta(minutes=47)) == (0, [])
    _, fired = await fire_due(sessionmaker, now=created + timedelta(minutes=48))
    assert [(f.metric, f.kind) for f in fired] == [("first_response", "warning")]
    assert await fire_due(sessionmaker, now=created + timedelta(minutes=50)) == (0, [])
    _, fired = await fire_due(sessionmaker, now=created + timedelta(minutes=60, seconds=1))
    assert [(f.metric, f.kind, f.at) for f in fired] == [
        ("first_response", "breached", created + timedelta(minutes=60))
    ]
    assert await fire_due(sessionmaker, now=created + timedelta(hours=5)) == (0, [])

    async with sessionmaker() as session:
        shown = await session.get(Ticket, ticket.id)
        assert shown is not None
        assert shown.priority == "high"  # raised one step by the breach
        assert "sla-warning" in shown.tags
        first = next(t for t in shown.sla["targets"] if t["metric"] == "first_response")
        assert first["status"] == "breached"
        breach = await session.scalar(
            select(TicketEvent).where(
                TicketEvent.ticket_id == ticket.id, TicketEvent.type == "sla.breached"
            )
        )
        assert breach is not None
        assert breach.data["notify"] == [{"agent_id": admin.id}]
    assert await _events(sessionmaker, ticket.id) == ["sla.warning", "sla.breached"]


async def test_a_reply_in_time_meets_the_target_and_nothing_fires(
    sessionmaker: SessionMaker, settings: Settings, clock: FrozenClock
) -> None:
    install_hooks(sessionmaker, build_lifecycle_hooks(settings))

    async with sessionmaker() as session, session.begin():
        admin = await make_agent(session, role="admin")
        await make_policy(session, minutes={"first_response": 60})
        ticket = await open_ticket(session, _actor(admin.id), now=clock.now)
        await do_add_message(
            session,
            _actor(admin.id),
            ticket.id,
            body="Hello",
            internal=False,
            now=clock.now + timedelta(minutes=5),
        )

    assert await fire_due(sessionmaker, now=clock.now + timedelta(hours=2)) == (0, [])
    async with sessionmaker() as session:
        kinds = (
            await session.scalars(
                select(SlaTargetEvent.kind).where(SlaTargetEvent.ticket_id == ticket.id)
            )
        ).all()
    assert kinds == ["met"]


@pytest.mark.committing
async def test_two_schedulers_fire_a_breach_once_within_a_second(
    committing_sessionmaker: SessionMaker, engine: AsyncEngine, settings: Settings
) -> None:
    sessionmaker = committing_sessionmaker
    install_hooks(sessionmaker, build_lifecycle_hooks(settings))
    now = datetime.now(UTC)
    async with sessionmaker() as session, session.begin():
        admin = await make_agent(session, role="admin")
        await make_policy(session, minutes={"first_response": 1}, warning_fraction=0.5)
        # Due 2.5 s from now; its warning (at 30 s) is already past and fires at once.
        ticket = await open_ticket(session, _actor(admin.id), now=now - timedelta(seconds=57.5))
    seen: list[tuple[Fired, datetime]] = []
    breached = asyncio.Event()

    def on_fired(fired: list[Fired], committed_at: datetime) -> None:
        seen.extend((f, committed_at) for f in fired)
        if any(f.kind == "breached" for f in fired):
            breached.set()

    def clock() -> datetime:
        return datetime.now(UTC)

    schedulers = [
        asyncio.create_task(run_sla_scheduler(sessionmaker, engine, clock=clock, on_fired=on_fired))
        for _ in range(2)
    ]
    try:
        async with asyncio.timeout(10):
            await breached.wait()
        await asyncio.sleep(1.0)  # time enough for a second firing, if there were one
    finally:
        for task in schedulers:
            task.cancel()
        for task in schedulers:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    assert sorted(f.kind for f, _ in seen) == ["breached", "warning"]
    breach, committed_at = next((f, at) for f, at in seen if f.kind == "breached")
    assert timedelta(0) <= committed_at - breach.at < timedelta(seconds=1)
    assert await _events(sessionmaker, ticket.id) == ["sla.warning", "sla.breached"]
    async with sessionmaker() as session:
        assert (
            await session.scalar(
                select(func.count()).where(
                    SlaTargetEvent.ticket_id == ticket.id, SlaTargetEvent.kind == "breached"
                )
            )
            == 1
        )
