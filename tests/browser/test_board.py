"""The supervisor board: a breach appears when its due time passes, without a reload,
and the supervisor reassigns the ticket from the board."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from arq.connections import ArqRedis, RedisSettings, create_pool
from playwright.async_api import Page, expect
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from app.auth.actor import Actor
from app.clock import utc_now
from app.config import Settings
from app.db.engine import SessionMaker, create_sessionmaker, transaction
from app.main import build_lifecycle_hooks
from app.outbox.relay import run_relay
from app.tickets.hooks import install_hooks
from app.tickets.models import Ticket
from routing.sla.scheduler import run_sla_scheduler
from tests.app.sla.factories import make_policy, open_ticket
from tests.browser.conftest import Person
from tests.browser.support import screenshot
from tests.browser.test_console import sign_in
from tests.conftest import CHANNEL_PREFIX, REDIS_URL
from tests.factories.agents import PASSWORD, make_agent

pytestmark = pytest.mark.browser


@pytest.fixture
async def worker_side(live_database: str, redis_db: int) -> AsyncIterator[SessionMaker]:
    """What a worker runs for the board: the SLA scheduler and the outbox relay (which
    brings its events to the web node's sockets through Redis)."""
    engine: AsyncEngine = create_async_engine(live_database)
    sessionmaker = create_sessionmaker(engine)
    install_hooks(sessionmaker, build_lifecycle_hooks(Settings(env="test")))
    redis: ArqRedis = await create_pool(RedisSettings.from_dsn(f"{REDIS_URL}/{redis_db}"))
    tasks = [
        asyncio.create_task(run_sla_scheduler(sessionmaker, engine, clock=utc_now)),
        asyncio.create_task(
            run_relay(sessionmaker, redis, engine=engine, clock=utc_now, prefix=CHANNEL_PREFIX)
        ),
    ]
    yield sessionmaker
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError):
            await task
    await redis.aclose()
    await engine.dispose()


async def test_a_breach_appears_on_the_board_and_is_reassigned_from_it(
    page: Page, server_url: str, worker_side: SessionMaker
) -> None:
    async with transaction(worker_side) as session:
        supervisor = await make_agent(
            session, role="supervisor", email="sam@example.test", name="Sam Supervisor"
        )
        bob = await make_agent(session, role="agent", email="bob@example.test", name="Bob Agent")
        await make_policy(session, minutes={"first_response": 1}, warning_fraction=0.5)
        actor = Actor(supervisor.id, "supervisor", frozenset(), frozenset({"read", "write"}))
        # Its first response falls due 12 seconds from now.
        ticket = await open_ticket(
            session, actor, now=datetime.now(UTC) - timedelta(seconds=48), priority="high"
        )
        ticket_id, number = ticket.id, ticket.number
    person = Person(email=supervisor.email, password=PASSWORD, name=supervisor.name)

    await page.set_viewport_size({"width": 1366, "height": 900})
    await page.goto("/console/board")
    await sign_in(page, person)
    at_risk = page.get_by_role("region", name="At risk")
    breached = page.get_by_role("region", name="Breached")
    await expect(at_risk.get_by_role("link", name=f"#{number}")).to_be_visible()
    await expect(at_risk).to_contain_text("left")

    # No reload: the countdown runs out and the scheduler's breach arrives.
    item = breached.locator(f'[data-ticket="{ticket_id}"]')
    await expect(item).to_be_visible(timeout=25_000)
    await expect(item).to_contain_text("overdue")
    await expect(item).to_contain_text("Standard")  # the policy whose target it is
    await page.get_by_label("Group by").select_option("policy")
    groups = page.get_by_role("region", name="By")
    await expect(groups.get_by_role("row", name="Standard")).to_contain_text("1")
    await expect(at_risk.locator(f'[data-ticket="{ticket_id}"]')).to_have_count(0)
    await screenshot(page, "sla-board")

    await item.get_by_label("Assignee").select_option(label="Bob Agent")
    await expect(page.get_by_role("status")).to_contain_text(f"#{number} assigned to Bob Agent")
    async with worker_side() as session:
        shown = await session.get(Ticket, ticket_id)
        assert shown is not None
        assert shown.assignee_id == bob.id
