"""Offers over the agent's socket, end to end: the routing task (as a worker runs it) offers
a ticket, the live app sends the `offer` frame, the agent accepts or declines with a
reason, or lets it time out; a decline or a timeout is recorded, the next offer skips that
agent, and a timeout sets the agent away."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from arq.connections import ArqRedis
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from app.agents.models import Agent, team_members
from app.db.engine import SessionMaker, transaction
from app.inboxes.channels import CHANNEL_NAMES
from app.outbox.relay import run_relay
from app.routing.models import RoutingQueue
from app.tickets.models import Ticket
from routing.runner import run_routing
from tests.app.realtime.support import Peer, make_admin_token, peer, ws_url
from tests.conftest import CHANNEL_PREFIX, REDIS_URL
from tests.factories.agents import make_team
from tests.routing.driver_support import waiting_ticket


def _now() -> datetime:
    return datetime.now(UTC)


@pytest.fixture
async def routing_worker(live_sessionmaker: SessionMaker, redis_db: int) -> AsyncIterator[None]:
    """What a worker runs: the outbox relay (offers reach the app's hub through Redis) and
    the routing task, with a quick sweep."""
    pool = ArqRedis.from_url(f"{REDIS_URL}/{redis_db}")
    engine = live_sessionmaker.kw["bind"]
    assert isinstance(engine, AsyncEngine)
    tasks = [
        asyncio.create_task(
            run_relay(live_sessionmaker, pool, prefix=CHANNEL_PREFIX, idle_delay=0.02)
        ),
        asyncio.create_task(run_routing(live_sessionmaker, engine, clock=_now, sweep_seconds=0.2)),
    ]
    yield
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await pool.aclose()


async def _team_with_offers(
    sessionmaker: SessionMaker, *, timeout_seconds: int, agents: int
) -> tuple[int, list[tuple[int, str]]]:
    """A team whose queue offers for `timeout_seconds`, and its chat agents' tokens."""
    people = [await make_admin_token(sessionmaker) for _ in range(agents)]
    async with transaction(sessionmaker) as session:
        team = await make_team(session)
        session.add(RoutingQueue(team_id=team.id, offer_timeout_seconds=timeout_seconds))
        for agent_id, _ in people:
            await session.execute(team_members.insert().values(team_id=team.id, agent_id=agent_id))
        await session.execute(
            update(Agent).where(Agent.id.in_([a for a, _ in people])).values(capacity={"chat": 2})
        )
    return team.id, people


async def _chat(sessionmaker: SessionMaker, team_id: int) -> int:
    async with transaction(sessionmaker) as session:
        ticket = await waiting_ticket(session, now=_now(), channel="chat", team_id=team_id)
    return ticket.id


async def _routing(server: str, token: str, ticket_id: int) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=server) as http:
        shown = await http.get(
            f"/api/v1/tickets/{ticket_id}/routing", headers={"Authorization": f"Bearer {token}"}
        )
    assert shown.status_code == 200, shown.text
    body: dict[str, Any] = shown.json()
    return body


async def _assignee(sessionmaker: SessionMaker, ticket_id: int) -> int | None:
    async with sessionmaker() as session:
        return await session.scalar(select(Ticket.assignee_id).where(Ticket.id == ticket_id))


async def test_an_offer_reaches_the_agents_socket_and_accepting_assigns_it(
    server: str, live_sessionmaker: SessionMaker, routing_worker: None
) -> None:
    team_id, [(agent_id, token)] = await _team_with_offers(
        live_sessionmaker, timeout_seconds=60, agents=1
    )
    async with peer(ws_url(server, "/ws/agent", token), origin=None) as sock:
        await sock.expect("hello")
        ticket_id = await _chat(live_sessionmaker, team_id)
        offer = await sock.expect("offer", ticket_id=ticket_id)
        assert offer["channel"] == "chat"
        assert offer["subject"].startswith("Request")
        assert offer["expires_at"] > _now().isoformat()
        assert await _assignee(live_sessionmaker, ticket_id) is None  # offered, not yet given

        await sock.send(type="offer.accept", offer_id=offer["offer_id"])
        ended = await sock.expect("offer.ended", offer_id=offer["offer_id"])
        assert ended["result"] == "accepted"
        assert await _assignee(live_sessionmaker, ticket_id) == agent_id
        # A second answer is refused with a reason, not silently dropped.
        await sock.send(type="offer.decline", offer_id=offer["offer_id"], reason="late")
        assert (await sock.expect("error"))["code"] == "offer_answered"
        await sock.send(type="offer.accept", offer_id=10**9)
        assert (await sock.expect("error"))["code"] == "offer_not_found"
    actions = [d["action"] for d in (await _routing(server, token, ticket_id))["decisions"]]
    assert actions == ["offer", "accepted"]


@dataclass
class OfferRace:
    """Two agents online in an offering team and a new chat: one of them was offered it."""

    ticket_id: int
    offer: dict[str, Any]
    offered: Peer
    offered_id: int
    other: Peer
    other_id: int
    token: str


@asynccontextmanager
async def _offered_to_one_of_two(
    server: str, sessionmaker: SessionMaker, *, timeout_seconds: int
) -> AsyncIterator[OfferRace]:
    team_id, [(first_id, first_token), (second_id, second_token)] = await _team_with_offers(
        sessionmaker, timeout_seconds=timeout_seconds, agents=2
    )
    async with (
        peer(ws_url(server, "/ws/agent", first_token), origin=None) as first,
        peer(ws_url(server, "/ws/agent", second_token), origin=None) as second,
    ):
        await first.expect("hello")
        await second.expect("hello")
        ticket_id = await _chat(sessionmaker, team_id)
        offered, other = await _whoever_is_offered(first, second, ticket_id)
        ids = (first_id, second_id) if offered is first else (second_id, first_id)
        yield OfferRace(
            ticket_id=ticket_id,
            offer=offered.received("offer", ticket_id=ticket_id)[0],
            offered=offered,
            offered_id=ids[0],
            other=other,
            other_id=ids[1],
            token=first_token,
        )


async def test_a_declined_offer_is_recorded_and_goes_to_the_next_agent(
    server: str, live_sessionmaker: SessionMaker, routing_worker: None
) -> None:
    async with _offered_to_one_of_two(server, live_sessionmaker, timeout_seconds=60) as race:
        offer_id = race.offer["offer_id"]
        await race.offered.send(
            type="offer.decline", offer_id=offer_id, reason="on a call with a customer"
        )
        ended = await race.offered.expect("offer.ended", offer_id=offer_id)
        assert ended["result"] == "declined"
        assert ended["reason"] == "on a call with a customer"
        # The next offer skips the agent who declined.
        again = await race.other.expect("offer", ticket_id=race.ticket_id)
        await race.other.send(type="offer.accept", offer_id=again["offer_id"])
        await race.other.expect("offer.ended", offer_id=again["offer_id"], result="accepted")
    assert await _assignee(live_sessionmaker, race.ticket_id) == race.other_id
    routing = await _routing(server, race.token, race.ticket_id)
    assert routing["refused"] == {str(race.offered_id): "declined"}
    declined = [d for d in routing["decisions"] if d["action"] == "declined"]
    assert declined[0]["agent_id"] == race.offered_id
    assert "on a call with a customer" in declined[0]["reason"]


async def _whoever_is_offered(a: Peer, b: Peer, ticket_id: int) -> tuple[Peer, Peer]:
    for _ in range(200):
        if a.received("offer", ticket_id=ticket_id):
            return a, b
        if b.received("offer", ticket_id=ticket_id):
            return b, a
        await asyncio.sleep(0.05)
    raise AssertionError(f"no offer of ticket {ticket_id}: {a.everything} {b.everything}")


async def test_an_offer_left_unanswered_times_out_sets_the_agent_away_and_moves_on(
    server: str, live_sessionmaker: SessionMaker, routing_worker: None
) -> None:
    async with _offered_to_one_of_two(server, live_sessionmaker, timeout_seconds=1) as race:
        ended = await race.offered.expect("offer.ended", offer_id=race.offer["offer_id"])
        assert ended["result"] == "timed_out"
        # The configured presence after a timeout: away on the offer's channel (chat), live
        # on the sockets; the agent stays online on the other channels.
        chat_away = {c: "away" if c == "chat" else "online" for c in CHANNEL_NAMES}
        await race.other.expect(
            "presence", agent_id=race.offered_id, status="online", channels=chat_away
        )
        again = await race.other.expect("offer", ticket_id=race.ticket_id)
        assert again["offer_id"] != race.offer["offer_id"]
    routing = await _routing(server, race.token, race.ticket_id)
    assert routing["refused"] == {str(race.offered_id): "timed_out"}
    timed_out = [d for d in routing["decisions"] if d["action"] == "timed_out"]
    assert [d["agent_id"] for d in timed_out] == [race.offered_id]
