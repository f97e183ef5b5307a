"""Assignments per second through the routing driver on PostgreSQL (issue 16: at least 500/s).

A scratch database (relaydesk_bench_routing) with 1,000 agents online (3 chats and 5 emails
each, 3 of 20 skills at levels 1-5, in 10 teams) and 100,000 waiting tickets (a third
needing a skill at level 1-3). Full routing rounds (`RoutingDriver.route()`, what the sweep
and an agent coming online run) hand tickets out until every agent is full: each
assignment locked (agents FOR NO KEY UPDATE, tickets FOR UPDATE SKIP LOCKED), rechecked,
written through the lifecycle with its hooks (SLA recomputation, routing state) and
recorded with its explanation. Prints assignments per second.

    .venv/bin/python bench/routing_driver.py [--agents 1000] [--tickets 100000] [--no-hooks]
        [--reuse] [--database NAME] [--profile FILE]

`--reuse` keeps the seeded database as a template (NAME_seed) and clones it on the next run
with the same sizes, instead of seeding again; `--profile` writes a cProfile of the rounds.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy.ext.asyncio import create_async_engine

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.config import Settings
from app.db.engine import create_sessionmaker
from app.main import build_lifecycle_hooks
from app.tickets.hooks import install_hooks
from bench.harness import SERVER_DSN, database_url, drop_database, migrate, recreate_database
from routing.driver import RoutingDriver

NAME = "relaydesk_bench_routing"

LOAD_SQL = """
INSERT INTO teams (name) SELECT 'Bench team ' || g FROM generate_series(1, 10) g;
INSERT INTO skills (name) SELECT 'skill-' || g FROM generate_series(1, 20) g;
INSERT INTO contacts (name, email, created_at, updated_at)
SELECT 'Contact ' || g, 'contact' || g || '@bench.test', now(), now()
FROM generate_series(1, 5000) g;
INSERT INTO agents (email, name, role, presence, presence_since, last_activity_at, capacity)
SELECT 'agent' || g || '@bench.test', 'Agent ' || g, 'agent', 'online', now(), now(),
       '{"chat": 3, "email": 5}'::jsonb
FROM generate_series(1, $1::int) g;
INSERT INTO team_members (team_id, agent_id)
SELECT (SELECT min(id) FROM teams) + a.id % 10, a.id FROM agents a;
INSERT INTO agent_skills (agent_id, skill_id, level)
SELECT DISTINCT ON (a.id, s.skill) a.id, s.skill, 1 + (a.id + s.k) % 5
FROM agents a,
     LATERAL (SELECT k, (SELECT min(id) FROM skills) + (a.id * 7 + k * 3) % 20 AS skill
              FROM generate_series(0, 2) k) s;
INSERT INTO tickets (subject, status, priority, channel, contact_id, team_id, required_skills,
                     required_skill_ids, created_at, updated_at, last_seq)
SELECT 'Bench ticket ' || g, 'new',
       (ARRAY['low', 'normal', 'normal', 'high', 'urgent'])[1 + g % 5],
       CASE WHEN g % 3 = 0 THEN 'chat' ELSE 'email' END,
       (SELECT min(id) FROM contacts) + g % 5000,
       (SELECT min(id) FROM teams) + g % 10,
       CASE WHEN g % 3 = 1 THEN jsonb_build_array(jsonb_build_object(
           'skill_id', (SELECT min(id) FROM skills) + g % 20, 'min_level', 1 + g % 3))
            ELSE '[]'::jsonb END,
       CASE WHEN g % 3 = 1 THEN ARRAY[(SELECT min(id) FROM skills) + g % 20]::bigint[]
            ELSE '{}'::bigint[] END,
       now() - interval '1 second' * ($2::int - g), now(), 0
FROM generate_series(1, $2::int) g;
ANALYZE
"""


async def load(url: str, *, agents: int, tickets: int) -> float:
    started = time.monotonic()
    conn = await asyncpg.connect(url.replace("+asyncpg", ""))
    try:
        async with conn.transaction():
            script = LOAD_SQL.replace("$1", str(int(agents))).replace("$2", str(int(tickets)))
            for statement in (s.strip() for s in script.split(";\n") if s.strip()):
                await conn.execute(statement)
    finally:
        await conn.close()
    return time.monotonic() - started


async def _admin(sql: str) -> Any:
    conn = await asyncpg.connect(SERVER_DSN + "/postgres")
    try:
        return await conn.fetchval(sql)
    finally:
        await conn.close()


async def seeded(name: str, *, agents: int, tickets: int, reuse: bool) -> None:
    """The database `name`, freshly seeded, or cloned from its seed template (`reuse`)."""
    seed = f"{name}_seed_{agents}_{tickets}"
    if reuse and await _admin(f"SELECT 1 FROM pg_database WHERE datname = '{seed}'"):
        await drop_database(name)
        await _admin(f'CREATE DATABASE "{name}" TEMPLATE "{seed}"')
        conn = await asyncpg.connect(f"{SERVER_DSN}/{name}")
        try:  # active now, as if seeded now: an idle timeout would have made them away
            await conn.execute("UPDATE agents SET presence_since = now(), last_activity_at = now()")
        finally:
            await conn.close()
        print(f"cloned {name} from {seed}")
        return
    await recreate_database(name)
    url = database_url(name)
    migrate(url)
    took = await load(url, agents=agents, tickets=tickets)
    print(f"loaded {agents} agents, {tickets} waiting tickets in {took:.1f}s")
    if reuse:
        await drop_database(seed)
        await _admin(f'CREATE DATABASE "{seed}" TEMPLATE "{name}"')


async def main(
    agents: int, tickets: int, *, hooks: bool, name: str, reuse: bool, profile: str | None
) -> None:
    await seeded(name, agents=agents, tickets=tickets, reuse=reuse)
    url = database_url(name)
    engine = create_async_engine(url, pool_size=5)
    sessionmaker = create_sessionmaker(engine)
    if hooks:  # as in a worker: SLA recomputation and routing state on every assignment
        install_hooks(sessionmaker, build_lifecycle_hooks(Settings(env="test")))
    driver = RoutingDriver(sessionmaker, clock=lambda: datetime.now(UTC))
    assigned = 0
    rounds = 0
    profiler = cProfile.Profile() if profile else None
    if profiler is not None:
        profiler.enable()
    started = time.monotonic()
    while True:
        result = await driver.route()
        rounds += 1
        assigned += len(result.assigned)
        if not result.assigned:
            break
    seconds = time.monotonic() - started
    if profiler is not None and profile is not None:
        profiler.disable()
        profiler.dump_stats(profile)
    await engine.dispose()
    print(f"{assigned} assignments in {rounds} full rounds, {seconds:.2f}s: "
          f"{assigned / seconds:.0f} assignments/s (target >= 500/s)")  # fmt: skip
    print(f"database: {SERVER_DSN}/{name}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=1000)
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument(
        "--no-hooks", action="store_true", help="the driver alone, without the lifecycle hooks"
    )
    parser.add_argument("--database", default=NAME, help="the scratch database's name")
    parser.add_argument(
        "--reuse", action="store_true", help="clone the seeded database kept by an earlier run"
    )
    parser.add_argument("--profile", metavar="FILE", help="write a cProfile of the rounds")
    args = parser.parse_args()
    asyncio.run(
        main(
            args.agents,
            args.tickets,
            hooks=not args.no_hooks,
            name=args.database,
            reuse=args.reuse,
            profile=args.profile,
        )
    )
