"""One routing driver in a process of its own, for the race test:

    python -m tests.routing.race_driver <database url> <start file> <rounds>

Once connected it leaves a `ready-<pid>` file beside the start file, then waits until the
start file exists (so two processes start together, however long an import takes on a
loaded machine), runs its rounds
and prints the (ticket, agent) pairs it assigned, and how many of its decisions a
recheck refused, as JSON."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

from app.clock import utc_now
from routing.driver import RoutingDriver


def wait_for(start: Path) -> None:
    deadline = time.monotonic() + 30
    while not start.exists() and time.monotonic() < deadline:
        time.sleep(0.005)


async def main(url: str, start: Path, rounds: int) -> None:
    engine = create_async_engine(url, pool_size=2)
    sessionmaker = async_sessionmaker(engine, expire_on_commit=False, autoflush=False)
    # Small batches: many interleaved transactions, the hardest case for the locks.
    driver = RoutingDriver(sessionmaker, clock=utc_now, batch=7, chunk=50)
    async with sessionmaker() as session:  # connected before the start
        await session.execute(text("SELECT 1"))
    start.with_name(f"ready-{os.getpid()}").touch()
    await asyncio.to_thread(wait_for, start)
    assigned: list[tuple[int, int]] = []
    lost = 0
    for _ in range(rounds):
        result = await driver.route()
        assigned += result.assigned
        lost += result.lost
    await engine.dispose()
    print(json.dumps({"assigned": assigned, "lost": lost}))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])))
