"""The SLA scheduler under a burst: many tickets due at one moment fire set-based, each
moment once, with its timeline event and its live (outbox and same-node) event, even
with two schedulers racing for the same due set."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from app.auth.actor import Actor
from app.config import Settings
from app.db.engine import SessionMaker
from app.main import build_lifecycle_hooks
from app.outbox.models import OutboxEvent
from app.realtime.local import install_local_delivery
from app.realtime.render import Event
from app.sla.models import SlaTargetEvent
from app.tickets.events import TicketEvent
from app.tickets.hooks import install_hooks
from app.tickets.models import Ticket
from routing.sla.recompute import recompute_open_tickets
from routing.sla.scheduler import Fired, fire_due, run_sla_scheduler
from tests.app.sla.factories import make_policy, open_ticket
from tests.conftest import FrozenClock
from tests.factories.agents import make_agent

BURST = 200


def _actor(agent_id: int) -> Actor:
    return Actor(agent_id=agent_id, role="admin", team_ids=frozenset(), scopes=frozenset({"write"}))


class Sink:
    """What same-node delivery hands the hub at each commit."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    def __call__(self, events: Sequence[Event]) -> None:
        self.events.extend(events)

    def of(self, topic: str) -> set[tuple[int | None, int | None]]:
        return {(e.ticket_id, e.seq) for e in self.events if e.topic == topic}


async def _open_burst(
    sessionmaker: SessionMaker,
    settings: Settings,
    *,
    now: datetime,
    opened: Sequence[datetime] = (),
    **policy: float,
) -> list[int]:
    """Tickets opened at each of `opened` (BURST at `now` if none) under a one-hour (or
    `minutes`) first-response policy, their SLA
    computed in bulk, as after a policy change (the lifecycle hooks, one ticket at a time,
    take seconds for a burst), and the hooks installed for what fires next."""
    async with sessionmaker() as session, session.begin():
        admin = await make_agent(session, role="admin")
        await make_policy(
            session, minutes={"first_response": policy.get("minutes", 60)},
            warning_fraction=policy.get("warning_fraction", 0.8),
        )  # fmt: skip
        actor = _actor(admin.id)
        ids = [(await open_ticket(session, actor, now=at)).id for at in opened or [now] * BURST]
    assert await recompute_open_tickets(sessionmaker, now=now) == len(ids)
    install_hooks(sessionmaker, build_lifecycle_hooks(settings))
    return ids


async def _timeline(sessionmaker: SessionMaker, ids: list[int]) -> dict[str, list[tuple[int, int]]]:
    """(ticket, seq) of each sla.* timeline event, by type."""
    async with sessionmaker() as session:
        rows = (
            await session.execute(
                select(TicketEvent.type, TicketEvent.ticket_id, TicketEvent.seq).where(
                    TicketEvent.ticket_id.in_(ids), TicketEvent.type.like("sla.%")
                )
            )
        ).all()
    found: dict[str, list[tuple[int, int]]] = {}
    for kind, ticket_id, seq in rows:
        found.setdefault(kind, []).append((ticket_id, seq))
    return found


async def _outbox(sessionmaker: SessionMaker, topic: str) -> list[tuple[int | None, int | None]]:
    async with sessionmaker() as session:
        rows = await session.execute(
            select(OutboxEvent.ticket_id, OutboxEvent.seq).where(OutboxEvent.topic == topic)
        )
        return [(ticket_id, seq) for ticket_id, seq in rows]


async def _moments(sessionmaker: SessionMaker, kind: str) -> int:
    async with sessionmaker() as session:
        return int(
            await session.scalar(
                select(func.count()).select_from(SlaTargetEvent).where(SlaTargetEvent.kind == kind)
            )
            or 0
        )


async def test_a_burst_due_at_one_moment_fires_each_once_with_its_events(
    sessionmaker: SessionMaker, settings: Settings, clock: FrozenClock
) -> None:
    sink = Sink()
    install_local_delivery(sessionmaker, sink)
    ids = await _open_burst(sessionmaker, settings, now=clock.now)

    async def drain(now: datetime) -> list[Fired]:
        fired: list[Fired] = []
        while True:  # batches smaller than the burst: a due set spanning several claims
            claimed, batch = await fire_due(sessionmaker, now=now, limit=70)
            fired += batch
            if not claimed:
                return fired

    warnings = await drain(clock.now + timedelta(minutes=48))
    assert sorted(f.ticket_id for f in warnings) == sorted(ids)
    assert {(f.kind, f.at) for f in warnings} == {("warning", clock.now + timedelta(minutes=48))}
    breaches = await drain(clock.now + timedelta(minutes=60))
    assert sorted(f.ticket_id for f in breaches) == sorted(ids)
    assert {(f.kind, f.at) for f in breaches} == {("breached", clock.now + timedelta(minutes=60))}
    assert await drain(clock.now + timedelta(hours=3)) == []

    timeline = await _timeline(sessionmaker, ids)
    assert sorted(t for t, _ in timeline["sla.warning"]) == sorted(ids)
    assert sorted(t for t, _ in timeline["sla.breached"]) == sorted(ids)
    for kind in ("sla.warning", "sla.breached"):
        # Each timeline event has its outbox row (the relay's) and reached this node live.
        assert sorted(await _outbox(sessionmaker, kind)) == sorted(timeline[kind])
        assert sink.of(kind) == set(timeline[kind])
    async with sessionmaker() as session:
        tickets = (await session.scalars(select(Ticket).where(Ticket.id.in_(ids)))).all()
        breach_seqs = dict(timeline["sla.breached"])
        for ticket in tickets:
            assert ticket.last_seq == breach_seqs[ticket.id]  # its last event
            assert ticket.sla_next_event_at is None
            assert ticket.sla_fired == [
                "first_response:0:breached", "first_response:0:warning"
            ]  # fmt: skip
            target = ticket.sla["targets"][0]
            assert (target["status"], target["breached_at"]) == (
                "breached", (clock.now + timedelta(minutes=60)).isoformat()
            )  # fmt: skip
        event = await session.scalar(
            select(TicketEvent).where(
                TicketEvent.ticket_id == ids[0], TicketEvent.type == "sla.breached"
            )
        )
        assert event is not None
        assert event.data["metric"] == "first_response"
        assert event.data["ticket_id"] == ids[0]
        assert event.data["due_at"] == (clock.now + timedelta(minutes=60)).isoformat()
    assert await _moments(sessionmaker, "warning") == BURST
    assert await _moments(sessionmaker, "breached") == BURST


async def test_a_moment_recorded_elsewhere_does_not_fire_again(
    sessionmaker: SessionMaker, settings: Settings, clock: FrozenClock
) -> None:
    """The unique moment decides, not the ticket's own list: a breach another node
    recorded (its ticket row not updated yet) writes no second event."""
    ids = await _open_burst(sessionmaker, settings, now=clock.now, opened=[clock.now] * 4)
    due = clock.now + timedelta(minutes=60)
    async with sessionmaker() as session, session.begin():
        ticket = await session.get(Ticket, ids[1])
        assert ticket is not None
        session.add(
            SlaTargetEvent(
                ticket_id=ids[1], metric="first_response", cycle=0, kind="breached",
                policy_id=ticket.sla_policy_id, priority=ticket.priority, started_at=clock.now,
                due_at=due, at=due, recorded_at=due, channel=ticket.channel,
            )
        )  # fmt: skip

    claimed, fired = await fire_due(sessionmaker, now=due)
    assert claimed == 4
    assert sorted(f.ticket_id for f in fired) == sorted([ids[0], ids[2], ids[3]])
    timeline = await _timeline(sessionmaker, ids)
    assert sorted(t for t, _ in timeline["sla.breached"]) == sorted([ids[0], ids[2], ids[3]])
    assert await fire_due(sessionmaker, now=due + timedelta(minutes=1)) == (0, [])
    assert await _moments(sessionmaker, "breached") == 4


@pytest.mark.committing
async def test_two_batches_racing_on_one_due_set_fire_each_once(
    committing_sessionmaker: SessionMaker, settings: Settings
) -> None:
    """Two sessions claim from the same due set at the same time, warnings and breaches."""
    sessionmaker = committing_sessionmaker
    now = datetime.now(UTC)
    opened = [now - timedelta(minutes=61)] * 100 + [now - timedelta(minutes=50)] * 100
    ids = await _open_burst(sessionmaker, settings, now=now, opened=opened)
    breaching, warning = ids[:100], ids[100:]

    async def scheduler() -> list[Fired]:
        fired: list[Fired] = []
        while True:
            claimed, batch = await fire_due(sessionmaker, now=now, limit=15)
            fired += batch
            if not claimed:
                return fired

    first, second = await asyncio.gather(scheduler(), scheduler())
    assert first  # both took part
    assert second
    fired = first + second
    assert sorted((f.ticket_id, f.kind) for f in fired) == sorted(
        [(t, "breached") for t in breaching] + [(t, "warning") for t in warning]
    )
    timeline = await _timeline(sessionmaker, breaching + warning)
    assert sorted(t for t, _ in timeline["sla.breached"]) == sorted(breaching)
    assert sorted(t for t, _ in timeline["sla.warning"]) == sorted(warning)
    assert sorted(await _outbox(sessionmaker, "sla.breached")) == sorted(timeline["sla.breached"])
    assert sorted(await _outbox(sessionmaker, "sla.warning")) == sorted(timeline["sla.warning"])


@pytest.mark.committing
async def test_two_running_schedulers_fire_a_burst_once_each_live(
    committing_sessionmaker: SessionMaker, engine: AsyncEngine, settings: Settings
) -> None:
    """Real schedulers, sleeping until the due time: the warnings (already due) fire at
    once, the breaches seconds later, each once, each reaching this node live."""
    sessionmaker = committing_sessionmaker
    sink = Sink()
    install_local_delivery(sessionmaker, sink)
    # Due 25 s from now, warned 35 s ago: opening the burst took over 10 s on a loaded
    # machine, and a warning still unfired when its breach falls due is dropped.
    opened = datetime.now(UTC) - timedelta(seconds=95)
    ids = await _open_burst(sessionmaker, settings, now=opened, minutes=2, warning_fraction=0.5)
    seen: list[Fired] = []
    done = asyncio.Event()

    def on_fired(fired: list[Fired], committed_at: datetime) -> None:
        seen.extend(fired)
        if sum(f.kind == "breached" for f in seen) >= BURST:
            done.set()

    def clock() -> datetime:
        return datetime.now(UTC)

    schedulers = [
        asyncio.create_task(run_sla_scheduler(sessionmaker, engine, clock=clock, on_fired=on_fired))
        for _ in range(2)
    ]
    try:
        async with asyncio.timeout(60):
            await done.wait()
        await asyncio.sleep(0.5)  # time enough for a second firing, if there were one
    finally:
        for task in schedulers:
            task.cancel()
        for task in schedulers:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    assert sorted((f.ticket_id, f.kind) for f in seen) == sorted(
        [(t, "breached") for t in ids] + [(t, "warning") for t in ids]
    )
    assert all(f.at == opened + timedelta(seconds=120) for f in seen if f.kind == "breached")
    timeline = await _timeline(sessionmaker, ids)
    for kind in ("sla.warning", "sla.breached"):
        assert sorted(t for t, _ in timeline[kind]) == sorted(ids)
        assert sorted(await _outbox(sessionmaker, kind)) == sorted(timeline[kind])
        assert sink.of(kind) == set(timeline[kind])
    assert await _moments(sessionmaker, "breached") == BURST
