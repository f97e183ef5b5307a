"""Outbox relay latency: how long a committed event takes to reach Redis pub/sub.

    .venv/bin/python bench/relay_latency.py           # or: make bench-relay
    .venv/bin/python bench/relay_latency.py --quick   # 500 events
    .venv/bin/python bench/relay_latency.py --help    # --events, --writers, --rate, --keep-db

It creates the scratch database `relaydesk_bench_relay` (dropped at the end unless
--keep-db), migrates it, loads 200 tickets, and starts one `relaydesk worker`, whose outbox
relay is the one production runs (woken by LISTEN/NOTIFY, polling only as a fallback).
Then 8 writers, each on its own PostgreSQL connection, commit 5,000 `ticket.updated` events
between them, one per transaction (as the ticket lifecycle does), as fast as they can or at
`--rate` events a second in all. A subscriber on the relay's `events` channel, in a thread
of its own so the writers' event loop cannot delay it, notes when each event arrives.

Latency is the time from the writer's COMMIT returning to the subscriber receiving the
event: NOTIFY, the relay's claim, the Redis publish and the pub/sub delivery.
Target: p99 under 20 ms. Every event must arrive exactly once; missing or doubled events
are counted and shown. Results go to bench/results/relay_latency-<time>.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import secrets
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import UTC, datetime

import asyncpg
import redis
from dataset import load
from harness import (
    ROOT,
    SERVER_DSN,
    Sample,
    console,
    database_url,
    drop_database,
    git_commit,
    migrate,
    progress_bar,
    recreate_database,
    relaydesk_command,
)
from rich.table import Table

DATABASE = "relaydesk_bench_relay"
TARGET_P99_MS = 20.0
INSERT_EVENT = """
INSERT INTO outbox_events (topic, ticket_id, seq, payload)
VALUES ('ticket.updated', $1, $2, $3::jsonb)
RETURNING id
"""


class Subscriber:
    """Notes the arrival time of every event on the relay's `events` channel (a thread)."""

    def __init__(self, redis_url: str, channel: str) -> None:
        self.client = redis.Redis.from_url(redis_url)
        self.pubsub = self.client.pubsub(ignore_subscribe_messages=True)
        self.pubsub.subscribe(channel)
        self.arrivals: dict[int, float] = {}
        self.doubled: Counter[int] = Counter()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="subscriber", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            message = self.pubsub.get_message(timeout=0.1)
            if message is None:
                continue
            received = time.perf_counter()
            event_id = json.loads(message["data"])["id"]
            if event_id in self.arrivals:
                self.doubled[event_id] += 1
            else:
                self.arrivals[event_id] = received

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        self.pubsub.close()
        self.client.close()


async def wait_for(subscriber: Subscriber, ids: set[int], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if ids <= subscriber.arrivals.keys():
            return True
        await asyncio.sleep(0.05)
    return ids <= subscriber.arrivals.keys()


async def write_events(
    args: argparse.Namespace, tickets: list[int], on_commit: dict[int, float], advance: object
) -> float:
    """Commit `args.events` events from `args.writers` connections; returns the wall time."""
    per_writer = [args.events // args.writers] * args.writers
    per_writer[0] += args.events - sum(per_writer)
    interval = args.writers / args.rate if args.rate else 0.0
    connections = [await asyncpg.connect(f"{SERVER_DSN}/{DATABASE}") for _ in per_writer]

    async def writer(index: int, conn: asyncpg.Connection, count: int) -> None:
        next_at = time.perf_counter()
        for i in range(count):
            if interval:
                next_at += interval
                await asyncio.sleep(max(0.0, next_at - time.perf_counter()))
            ticket = tickets[(index * count + i) % len(tickets)]
            async with conn.transaction():
                event_id = await conn.fetchval(
                    INSERT_EVENT, ticket, i + 1, json.dumps({"ticket_id": ticket, "n": i})
                )
            on_commit[event_id] = time.perf_counter()
            advance()  # type: ignore[operator]

    started = time.perf_counter()
    try:
        writers = enumerate(zip(connections, per_writer, strict=True))
        await asyncio.gather(*(writer(i, conn, count) for i, (conn, count) in writers))
    finally:
        for conn in connections:
            await conn.close()
    return time.perf_counter() - started


async def main(args: argparse.Namespace) -> dict[str, object]:
    url = database_url(DATABASE)
    console.print(f"scratch database {DATABASE}: creating and migrating")
    await recreate_database(DATABASE)
    migrate(url)
    conn = await asyncpg.connect(f"{SERVER_DSN}/{DATABASE}")
    try:
        await load(conn, total=200, now=datetime.now(UTC))
        tickets = [row["id"] for row in await conn.fetch("SELECT id FROM tickets ORDER BY id")]
    finally:
        await conn.close()

    prefix = f"bench-relay-{os.getpid()}"
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "REDIS_URL": args.redis_url,
        "RELAYDESK_REDIS_PREFIX": prefix,
        "RELAYDESK_ENV": "test",
        "RELAYDESK_SECRET_KEY": secrets.token_urlsafe(48),
        "RELAYDESK_DATA_DIR": str(ROOT / "bench" / "results" / "relay-data"),
    }
    subscriber = Subscriber(args.redis_url, f"{prefix}:events")
    subscriber.start()
    log_path = ROOT / "bench" / "results" / "relay_latency-worker.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("wb") as log:
        worker = subprocess.Popen(  # noqa: ASYNC220 - started once, before any load
            [*relaydesk_command(), "worker"], cwd=ROOT, env=env, stdout=log, stderr=log
        )
    on_commit: dict[int, float] = {}
    try:
        # Warm-up: the worker is ready once an event it relays arrives.
        conn = await asyncpg.connect(f"{SERVER_DSN}/{DATABASE}")
        warm_ids: set[int] = set()
        try:
            deadline = time.monotonic() + 60
            while not (warm_ids and await wait_for(subscriber, warm_ids, 1.0)):
                if worker.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the worker relayed nothing; see {log_path}")
                warm_ids.add(await conn.fetchval(INSERT_EVENT, tickets[0], 0, "{}"))
        finally:
            await conn.close()

        with progress_bar() as progress:
            task = progress.add_task(f"{args.writers} writers committing", total=args.events)
            wall = await write_events(args, tickets, on_commit, lambda: progress.advance(task))
        await wait_for(subscriber, set(on_commit), 10.0)
    finally:
        worker.terminate()
        worker.wait(timeout=15)
        subscriber.stop()
        if not args.keep_db:
            await drop_database(DATABASE)

    sample = Sample("commit -> publish")
    for event_id, committed in on_commit.items():
        if (arrived := subscriber.arrivals.get(event_id)) is not None:
            # The subscriber thread can note an arrival a hair before the writer's coroutine
            # resumes after COMMIT: that is no latency at all.
            sample.latencies.append(max(0.0, arrived - committed))
    sample.wall = wall
    missing = len(on_commit) - len(sample.latencies)
    doubled = sum(subscriber.doubled[i] for i in on_commit)
    results: dict[str, object] = {
        "started_at": datetime.now(UTC).isoformat(),
        "commit": git_commit(),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "config": vars(args),
        "commit_rate_per_s": round(len(on_commit) / wall, 1),
        "latency": sample.summary(),
        "missing": missing,
        "doubled": doubled,
    }
    report(results, sample)
    out = ROOT / "bench" / "results" / f"relay_latency-{datetime.now(UTC):%Y%m%d-%H%M%S}.json"
    out.write_text(json.dumps(results, indent=2))
    console.print(f"results: {out.relative_to(ROOT)}")
    return results


def report(results: dict[str, object], sample: Sample) -> None:
    table = Table(title="Outbox relay: COMMIT returned -> event received from Redis pub/sub")
    for column in ("events", "commits/s", "p50 ms", "p95 ms", "p99 ms", "max ms", "target p99",
                   "missing", "doubled"):  # fmt: skip
        table.add_column(column, justify="right")
    p99 = sample.percentile(99) * 1000
    colour = "green" if p99 < TARGET_P99_MS else "red"
    table.add_row(
        str(len(sample.latencies)),
        str(results["commit_rate_per_s"]),
        f"{sample.percentile(50) * 1000:.2f}",
        f"{sample.percentile(95) * 1000:.2f}",
        f"[{colour}]{p99:.2f}[/]",
        f"{max(sample.latencies, default=float('nan')) * 1000:.2f}",
        f"< {TARGET_P99_MS:.0f}",
        str(results["missing"]),
        str(results["doubled"]),
    )
    console.print(table)


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=5000, help="events committed in all")
    parser.add_argument("--writers", type=int, default=8, help="concurrent writers")
    parser.add_argument(
        "--rate", type=float, default=0.0, help="events a second in all (0: as fast as they can)"
    )
    parser.add_argument(
        "--redis-url", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/15")
    )
    parser.add_argument("--keep-db", action="store_true", help=f"keep {DATABASE} afterwards")
    parser.add_argument("--quick", action="store_true", help="a smoke run: 500 events")
    args = parser.parse_args(argv)
    if args.quick:
        args.events = 500
    return args


if __name__ == "__main__":
    run = asyncio.run(main(parse(sys.argv[1:])))
    latency = run["latency"]
    assert isinstance(latency, dict)
    sys.exit(0 if not run["missing"] and not run["doubled"] else 1)
