"""What a policy does when a target warns, breaches or is met (reassign, notify a team,
raise the priority), and a frozen due time holding against the scheduler."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from app.auth.actor import Actor
from app.config import Settings
from app.db.engine import SessionMaker
from app.main import build_lifecycle_hooks
from app.messages.service import do_add_message
from app.sla.schemas import DueOverride
from app.sla.service import do_override_due
from app.tickets.events import TicketEvent
from app.tickets.hooks import install_hooks
from app.tickets.models import Ticket
from routing.sla.engine import RoutingSlaEngine
from routing.sla.scheduler import fire_due
from tests.app.sla.factories import make_policy, open_ticket
from tests.conftest import FrozenClock
from tests.factories.agents import make_agent, make_team


def _actor(agent_id: int, role: str = "admin") -> Actor:
    return Actor(agent_id=agent_id, role=role, team_ids=frozenset(), scopes=frozenset({"write"}))


async def test_a_breach_reassigns_the_ticket_and_notifies_a_team(
    sessionmaker: SessionMaker, settings: Settings, clock: FrozenClock
) -> None:
    install_hooks(sessionmaker, build_lifecycle_hooks(settings))
    async with sessionmaker() as session, session.begin():
        admin = await make_agent(session, role="admin")
        escalations = await make_team(session, name="Escalations")
        lead = await make_agent(session, role="agent", team_ids=[escalations.id])
        actions = {
            "warning": [{"type": "notify", "team_id": escalations.id}],
            "breached": [
                {"type": "reassign", "agent_id": lead.id, "team_id": escalations.id},
                {"type": "notify", "team_id": escalations.id, "agent_id": lead.id},
            ],
        }
        await make_policy(session, minutes={"first_response": 60}, actions=actions)
        ticket = await open_ticket(session, _actor(admin.id), now=clock.now)
    created = clock.now

    await fire_due(sessionmaker, now=created + timedelta(minutes=48))
    async with sessionmaker() as session:
        shown = await session.get(Ticket, ticket.id)
        assert shown is not None
        assert (shown.assignee_id, shown.team_id) == (None, None)  # a warning only notifies
    _, fired = await fire_due(sessionmaker, now=created + timedelta(minutes=60))
    assert [f.kind for f in fired] == ["breached"]

    async with sessionmaker() as session:
        shown = await session.get(Ticket, ticket.id)
        assert shown is not None
        assert (shown.assignee_id, shown.team_id) == (lead.id, escalations.id)
        events = {
            row.type: row.data
            for row in (
                await session.scalars(select(TicketEvent).where(TicketEvent.ticket_id == ticket.id))
            ).all()
        }
    assert events["sla.warning"]["notify"] == [{"team_id": escalations.id}]
    assert events["sla.breached"]["notify"] == [{"agent_id": lead.id, "team_id": escalations.id}]
    # The reassignment is the system's change, saying which SLA moment made it.
    assert events["ticket.updated"]["sla_action"] == {
        "kind": "breached",
        "metric": "first_response",
    }


async def test_meeting_a_target_runs_its_met_actions(
    sessionmaker: SessionMaker, settings: Settings, clock: FrozenClock
) -> None:
    install_hooks(sessionmaker, build_lifecycle_hooks(settings))
    async with sessionmaker() as session, session.begin():
        admin = await make_agent(session, role="admin")
        actions = {"met": [{"type": "raise_priority"}, {"type": "add_tag", "tag": "answered"}]}
        await make_policy(session, minutes={"first_response": 60}, actions=actions)
        ticket = await open_ticket(session, _actor(admin.id), now=clock.now, priority="low")

    async with sessionmaker() as session, session.begin():
        await do_add_message(
            session,
            _actor(admin.id),
            ticket.id,
            body="Hello",
            internal=False,
            now=clock.now + timedelta(minutes=5),
        )

    async with sessionmaker() as session:
        shown = await session.get(Ticket, ticket.id)
        assert shown is not None
        assert (shown.priority, "answered" in shown.tags) == ("normal", True)


async def test_a_frozen_due_time_holds_against_the_scheduler_until_released(
    sessionmaker: SessionMaker, settings: Settings, clock: FrozenClock
) -> None:
    install_hooks(sessionmaker, build_lifecycle_hooks(settings))
    engine = RoutingSlaEngine()
    async with sessionmaker() as session, session.begin():
        admin = await make_agent(session, role="admin")
        supervisor = await make_agent(session, role="supervisor")
        await make_policy(session, minutes={"first_response": 60})
        ticket = await open_ticket(session, _actor(admin.id), now=clock.now)
    created = clock.now
    frozen = created + timedelta(hours=3)
    async with sessionmaker() as session, session.begin():
        await do_override_due(
            session,
            _actor(supervisor.id, "supervisor"),
            engine,
            ticket.id,
            DueOverride(metric="first_response", due_at=frozen),
            now=created + timedelta(minutes=10),
        )

    # The policy's hour passes: nothing breaches, the frozen time stands.
    _, fired = await fire_due(sessionmaker, now=created + timedelta(minutes=90))
    assert [f.kind for f in fired] == []

    async with sessionmaker() as session, session.begin():
        await do_override_due(
            session,
            _actor(supervisor.id, "supervisor"),
            engine,
            ticket.id,
            DueOverride(metric="first_response", due_at=None),
            now=created + timedelta(minutes=100),
        )
        shown = await session.get(Ticket, ticket.id)
        assert shown is not None
        first = next(t for t in shown.sla["targets"] if t["metric"] == "first_response")
        assert (first["overridden"], first["status"]) == (False, "breached")
    # Released: the policy's clock applies again, and its breach is recorded once.
    _, fired = await fire_due(sessionmaker, now=created + timedelta(minutes=101))
    assert [(f.kind, f.at) for f in fired] == [("breached", created + timedelta(minutes=60))]
    async with sessionmaker() as session:
        overrides = (
            await session.scalars(
                select(TicketEvent.data)
                .where(TicketEvent.ticket_id == ticket.id, TicketEvent.type == "sla.due_overridden")
                .order_by(TicketEvent.seq)
            )
        ).all()
    assert [o["due_at"] for o in overrides] == [frozen.isoformat(), None]
