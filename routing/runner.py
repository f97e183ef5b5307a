"""The routing task: a supervised loop in every worker (app.worker, `BACKGROUND_TASKS`).

It routes when woken (NOTIFY on `routing.wakeup.ROUTING_CHANNEL`: a new or reopened
ticket, capacity freed, an agent online), when an offer or an offline agent's grace
period falls due, and on a periodic sweep, the safety net for a lost notification: the
sweep settles expired offers, turns idle agents away, requeues the live chats of agents
offline past their grace, and runs a full round.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from app.clock import Clock
from app.db.engine import SessionMaker
from app.db.notify import Listener
from routing.driver import RoutingDriver
from routing.sweep import sweep
from routing.wakeup import ROUTING_CHANNEL, Wakeups

log = logging.getLogger(__name__)

SWEEP_SECONDS = 30.0
MIN_WAIT = 0.01


async def run_routing(
    sessionmaker: SessionMaker,
    engine: AsyncEngine,
    *,
    clock: Clock,
    sweep_seconds: float = SWEEP_SECONDS,
) -> None:
    """Until cancelled. A database error ends the loop; the supervisor restarts it."""
    driver = RoutingDriver(sessionmaker, clock=clock)
    loop = asyncio.get_running_loop()
    async with Listener(engine, ROUTING_CHANNEL) as listener:
        next_sweep = loop.time()
        due: datetime | None = None
        while True:
            woken = Wakeups.parse(listener.take())
            now = clock()
            if woken.sweep or loop.time() >= next_sweep or (due is not None and due <= now):
                outcome = await sweep(driver)
                due = outcome.next_due_at
                next_sweep = loop.time() + sweep_seconds
            elif woken:
                result = await driver.route(ticket_ids=None if woken.agents else woken.tickets)
                if result.offered:  # an offer expires: settle it on time
                    soonest = await driver.next_offer_expiry()
                    due = soonest if due is None or soonest is None else min(due, soonest)
            wait = next_sweep - loop.time()
            if due is not None:
                wait = min(wait, (due - clock()).total_seconds())
            await listener.wait(max(MIN_WAIT, wait))
