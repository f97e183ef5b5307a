"""Live chat load benchmark: thousands of sockets on one app process.

    .venv/bin/python bench/chat_load.py             # or: make bench-chat
    .venv/bin/python bench/chat_load.py --quick     # a short smoke run

It creates the scratch database `relaydesk_bench_chat` (or $BENCH_CHAT_DATABASE; dropped unless
--keep-db), migrates it, and starts one `relaydesk serve` process and one `relaydesk
worker` (the outbox relay, so the hub also receives every event a second time through
Redis, as in production). Then:

1. opens 2,000 visitor sockets (each sends a first message, which opens its ticket, and
   the ticket is assigned to one of 50 agents) and 50 agent sockets, and measures the
   server's memory per idle connection;
2. sends 200 messages a second from visitors to agents and 200 a second from agents to
   visitors for 60 seconds, and checks that every message arrived exactly once and in the
   order it was sent (it does not assume it), reporting visitor -> agent and agent ->
   visitor latency percentiles;
3. closes them and opens 10,000 idle visitor sockets (pinging every heartbeat, as the
   widget does), and reports the server's memory per connection and CPU at rest.

Targets: p99 under 50 ms, under 64 KB per idle connection, nothing lost or doubled.
Results go to bench/results/chat_load-<time>.json.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import platform
import random
import resource
import secrets
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from harness import (
    ROOT,
    SERVER_DSN,
    Sample,
    Server,
    console,
    create_admin,
    database_url,
    drop_database,
    git_commit,
    migrate,
    recreate_database,
    relaydesk_command,
)
from rich.table import Table
from websockets.asyncio.client import ClientConnection, connect

# The scratch database; BENCH_CHAT_DATABASE names another, so two runs on one server (two
# worktrees) do not drop each other's.
DATABASE = os.environ.get("BENCH_CHAT_DATABASE", "relaydesk_bench_chat")
ADMIN_EMAIL = "bench-admin@bench.relaydesk.test"
ORIGIN = "https://shop.bench.test"
P99_TARGET_MS = 50.0
IDLE_KB_TARGET = 64.0
DRAIN_SECONDS = 180
RETRY_CODES = {"internal", "rate_limited"}
RETRY_DELAY = 1.0
FIRST_MESSAGES_PER_SECOND = 200
HEARTBEAT = 25


def raise_fd_limit() -> int:
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks  # utime + stime


def pid_of(server: Server) -> int:
    assert server.process is not None
    return server.process.pid


def ws(base: str, path: str, token: str) -> str:
    return base.replace("http://", "ws://") + f"{path}?token={token}&v=1"


async def open_socket(url: str, *, origin: str | None) -> ClientConnection:
    # No client-side protocol pings: the server pings, and the client sends `ping` frames.
    return await connect(
        url, origin=origin, ping_interval=None, open_timeout=60, max_queue=None, compression=None
    )  # type: ignore[arg-type]


@dataclass
class Conversation:
    visitor: int
    token: str
    ticket_id: int = 0
    agent: int = 0
    sent_by_visitor: list[str] = field(default_factory=list)
    sent_by_agent: list[str] = field(default_factory=list)
    got_by_agent: list[str] = field(default_factory=list)
    got_by_visitor: list[str] = field(default_factory=list)


@dataclass
class Run:
    base: str
    admin: str
    conversations: list[Conversation] = field(default_factory=list)
    agent_tokens: list[str] = field(default_factory=list)
    agent_ids: list[int] = field(default_factory=list)
    sent_at: dict[str, float] = field(default_factory=dict)
    to_agent: Sample = field(default_factory=lambda: Sample("visitor -> agent"))
    to_visitor: Sample = field(default_factory=lambda: Sample("agent -> visitor"))
    acks: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    # What each client id was sent with, to send it again as the widget does when the
    # server answers `internal` or `rate_limited` ("send again"; the client id makes the
    # resend store nothing twice).
    outgoing: dict[str, tuple[ClientConnection, str]] = field(default_factory=dict)
    resent: int = 0

    async def send(self, sock: ClientConnection, key: str, frame: dict[str, Any]) -> None:
        text = json.dumps(frame)
        self.outgoing[key] = (sock, text)
        await sock.send(text)

    def refused(self, frame: dict[str, Any]) -> None:
        """An error frame: a refused-for-now message goes again in a second."""
        sent = self.outgoing.get(frame.get("client_id") or "")
        if frame.get("code") in RETRY_CODES and sent is not None:
            self.resent += 1
            asyncio.get_running_loop().call_later(
                RETRY_DELAY, lambda: asyncio.ensure_future(_quietly(sent[0].send(sent[1])))
            )
        else:
            self.errors.append(frame)


async def _quietly(sending: Any) -> None:
    with contextlib.suppress(Exception):
        await sending


async def setup(run: Run, *, visitors: int, agents: int) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {run.admin}"}
    async with httpx.AsyncClient(base_url=run.base, timeout=60, headers=headers) as http:
        inbox = (
            await http.post(
                "/api/v1/inboxes",
                json={
                    "name": "Bench chat",
                    "channel": "chat",
                    "settings": {"allowed_origins": [ORIGIN], "rate_limit_per_minute": 600},
                },
            )
        ).json()
        password = secrets.token_urlsafe(12)
        for n in range(agents):
            created = await http.post(
                "/api/v1/agents",
                json={
                    "email": f"agent{n}@bench.relaydesk.test",
                    "name": f"Agent {n}",
                    "role": "agent",
                    "password": password,
                },
            )
            created.raise_for_status()
            run.agent_ids.append(created.json()["id"])
            login = await http.post(
                "/api/v1/auth/login",
                json={"email": f"agent{n}@bench.relaydesk.test", "password": password},
            )
            run.agent_tokens.append(login.json()["token"])
        run.conversations = await sessions(run.base, inbox["public_key"], visitors)
    return dict(inbox)


async def sessions(base: str, inbox_key: str, count: int) -> list[Conversation]:
    out: list[Conversation] = []
    limit = asyncio.Semaphore(32)
    async with httpx.AsyncClient(base_url=base, timeout=60) as http:

        async def one(n: int) -> None:
            async with limit:
                response = await http.post(
                    "/api/v1/widget/sessions", json={"inbox": inbox_key}, headers={"Origin": ORIGIN}
                )
                response.raise_for_status()
                out.append(Conversation(n, response.json()["token"]))

        await asyncio.gather(*(one(n) for n in range(count)))
    out.sort(key=lambda c: c.visitor)
    return out


async def connect_all(
    urls: list[str], *, origin: str | None, into: list[ClientConnection]
) -> list[ClientConnection]:
    """Open the sockets; each joins `into` (what `heartbeat` pings) as soon as it is open,
    since the server closes a socket that stays silent for two heartbeats."""
    limit = asyncio.Semaphore(64)

    async def one(url: str) -> ClientConnection:
        async with limit:
            sock = await open_socket(url, origin=origin)
            hello = json.loads(await sock.recv())
            assert hello["type"] == "hello", hello
            into.append(sock)
            return sock

    return list(await asyncio.gather(*(one(u) for u in urls)))


async def heartbeat(sockets: list[ClientConnection], stop: asyncio.Event) -> None:
    """Each socket pings once per heartbeat, spread evenly, as widgets do: a batch every
    second over the sockets open so far (one sleep per socket fell behind at 10,000)."""
    index = 0
    next_tick = time.perf_counter()
    while not stop.is_set():
        count = len(sockets)
        for _ in range(-(-count // HEARTBEAT) if count else 0):
            sock = sockets[index % count]
            index += 1
            with contextlib.suppress(Exception):
                await sock.send('{"type":"ping"}')
        next_tick += 1
        await asyncio.sleep(max(0.0, next_tick - time.perf_counter()))


async def read_visitor(run: Run, conv: Conversation, sock: ClientConnection) -> None:
    async for text in sock:
        frame = json.loads(text)
        kind = frame["type"]
        if kind == "message.new" and frame["author"]["type"] == "agent":
            key = frame["body"]
            conv.got_by_visitor.append(key)
            if key in run.sent_at:
                run.to_visitor.latencies.append(time.perf_counter() - run.sent_at[key])
        elif kind == "message.ack":
            run.acks += 1
            if not conv.ticket_id:
                conv.ticket_id = frame["ticket_id"]
        elif kind == "error":
            run.refused(frame)


async def read_agent(run: Run, sock: ClientConnection, by_ticket: dict[int, Conversation]) -> None:
    async for text in sock:
        frame = json.loads(text)
        kind = frame["type"]
        if kind == "message.new" and frame["author"]["type"] == "contact":
            conv = by_ticket.get(frame["ticket_id"])
            key = frame["body"]
            if conv is not None and key.startswith("v"):
                conv.got_by_agent.append(key)
                if key in run.sent_at:
                    run.to_agent.latencies.append(time.perf_counter() - run.sent_at[key])
        elif kind == "message.ack":
            run.acks += 1
        elif kind == "error":
            run.refused(frame)


async def assign(run: Run, *, agents: int) -> None:
    limit = asyncio.Semaphore(16)
    headers = {"Authorization": f"Bearer {run.admin}"}
    async with httpx.AsyncClient(base_url=run.base, timeout=60, headers=headers) as http:

        async def one(conv: Conversation) -> None:
            conv.agent = conv.visitor % agents
            async with limit:
                response = await http.patch(
                    f"/api/v1/tickets/{conv.ticket_id}",
                    json={"assignee_id": run.agent_ids[conv.agent]},
                )
                response.raise_for_status()

        await asyncio.gather(*(one(c) for c in run.conversations))


async def pace(rate: float, seconds: float, send: Any) -> int:
    """Call `send(n)` `rate` times a second for `seconds`, on schedule (not after each)."""
    start = time.perf_counter()
    total = int(rate * seconds)
    for n in range(total):
        due = start + n / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        await send(n)
    return total


def check(run: Run) -> dict[str, Any]:
    """Every message arrived once, in the order it was sent."""
    lost = doubled = out_of_order = 0  # lost: not arrived by the end of the wait
    for conv in run.conversations:
        for sent, got in (
            (conv.sent_by_visitor, conv.got_by_agent),
            (conv.sent_by_agent, conv.got_by_visitor),
        ):
            lost += len(set(sent) - set(got))
            doubled += len(got) - len(set(got))
            seen = [k for k in got if k in set(sent)]
            if seen != [k for k in sent if k in set(seen)]:
                out_of_order += 1
    return {"lost": lost, "doubled": doubled, "conversations_out_of_order": out_of_order}


async def load_phase(
    run: Run, server: Server, *, visitors: int, agents: int, rate: float, seconds: float
) -> dict[str, Any]:
    by_ticket: dict[int, Conversation] = {}
    baseline = rss_kb(pid_of(server))
    console.print(f"connecting {visitors} visitor sockets")
    live: list[ClientConnection] = []
    stop = asyncio.Event()
    beat = asyncio.create_task(heartbeat(live, stop))
    visitor_socks = await connect_all(
        [ws(run.base, "/ws/widget", c.token) for c in run.conversations], origin=ORIGIN, into=live
    )
    readers = [
        asyncio.create_task(read_visitor(run, c, s))
        for c, s in zip(run.conversations, visitor_socks, strict=True)
    ]

    # Each visitor's first message opens their ticket, which is then assigned to an agent.
    # Visitors arrive over time, not all in one instant: their first messages at a steady rate.
    def first(n: int) -> Any:
        key = f"hello-{n}"
        return run.send(
            visitor_socks[n], key, {"type": "message.send", "client_id": key, "body": "hi"}
        )

    await pace(FIRST_MESSAGES_PER_SECOND, len(visitor_socks) / FIRST_MESSAGES_PER_SECOND, first)
    deadline = time.monotonic() + 120 + visitors / 10  # a loaded machine opens them slowly
    while any(not c.ticket_id for c in run.conversations):
        if time.monotonic() > deadline:
            raise RuntimeError("first messages were not acknowledged")
        await asyncio.sleep(0.1)
    await assign(run, agents=agents)
    by_ticket.update({c.ticket_id: c for c in run.conversations})
    console.print(f"connecting {agents} agent sockets")
    agent_socks = await connect_all(
        [ws(run.base, "/ws/agent", t) for t in run.agent_tokens], origin=None, into=live
    )
    readers += [asyncio.create_task(read_agent(run, s, by_ticket)) for s in agent_socks]
    await asyncio.sleep(3)
    connected = rss_kb(pid_of(server))
    per_connection_kb = (connected - baseline) / (visitors + agents)

    counter = itertools.count()
    rng = random.Random(7)

    async def visitor_send(n: int) -> None:
        conv = rng.choice(run.conversations)
        key = f"v{conv.visitor}-{next(counter)}"
        conv.sent_by_visitor.append(key)
        run.sent_at[key] = time.perf_counter()
        frame = {"type": "message.send", "client_id": key, "body": key}
        await run.send(visitor_socks[conv.visitor], key, frame)

    async def agent_send(n: int) -> None:
        conv = rng.choice(run.conversations)
        key = f"a{conv.visitor}-{next(counter)}"
        conv.sent_by_agent.append(key)
        run.sent_at[key] = time.perf_counter()
        frame = {"type": "message.send", "client_id": key, "ticket_id": conv.ticket_id, "body": key}
        await run.send(agent_socks[conv.agent], key, frame)

    console.print(f"sending {rate:.0f} messages/s each way for {seconds:.0f} s")
    acks_before = run.acks
    cpu_before, started = cpu_seconds(pid_of(server)), time.perf_counter()
    await asyncio.gather(pace(rate, seconds, visitor_send), pace(rate, seconds, agent_send))
    wall = time.perf_counter() - started
    cpu_load = (cpu_seconds(pid_of(server)) - cpu_before) / wall
    sent = sum(len(c.sent_by_visitor) + len(c.sent_by_agent) for c in run.conversations)
    acked_while_sending = run.acks - acks_before
    # A server that fell behind is still delivering: wait for it (bounded), so a late
    # message is reported as late, not lost.
    deadline = time.monotonic() + DRAIN_SECONDS
    while time.monotonic() < deadline:
        got = sum(len(c.got_by_agent) + len(c.got_by_visitor) for c in run.conversations)
        if got >= sent:
            break
        await asyncio.sleep(0.2)
    drained_after = time.perf_counter() - started - wall
    await asyncio.sleep(1)  # anything doubled shows up too
    stop.set()
    beat.cancel()
    for sock in visitor_socks + agent_socks:
        await sock.close()
    for reader in readers:
        reader.cancel()
    await asyncio.gather(*readers, beat, return_exceptions=True)
    run.to_agent.wall = run.to_visitor.wall = wall
    return {
        "sockets": visitors + agents,
        "rss_before_kb": baseline,
        "rss_connected_kb": connected,
        "per_idle_connection_kb": round(per_connection_kb, 1),
        "messages_sent": sent,
        "server_cpu_cores_under_load": round(cpu_load, 2),
        "offered_per_second": round(sent / wall, 1),
        "acknowledged_per_second_while_sending": round(acked_while_sending / wall, 1),
        "seconds_after_sending_until_delivered": round(drained_after, 1),
        "visitor_to_agent": run.to_agent.summary(),
        "agent_to_visitor": run.to_visitor.summary(),
        "delivery": check(run),
        "error_frames": run.errors[:10],
        "error_frame_count": len(run.errors),
        "resent_after_internal_or_rate_limited": run.resent,
    }


async def stored_messages(run: Run) -> dict[str, int]:
    """How many of the load phase's messages the database holds, each client id once."""
    keys = {k for c in run.conversations for k in (*c.sent_by_visitor, *c.sent_by_agent)}
    conn = await asyncpg.connect(f"{SERVER_DSN}/{DATABASE}")
    try:
        rows = await conn.fetch(
            "SELECT body_text, count(*) AS n FROM messages WHERE body_text = ANY($1::text[])"
            " GROUP BY body_text",
            sorted(keys),
        )
    finally:
        await conn.close()
    return {
        "sent": len(keys),
        "stored": len(rows),
        "stored_twice": sum(1 for r in rows if r["n"] > 1),
        "not_stored": len(keys) - len(rows),
    }


async def idle_phase(run: Run, server: Server, inbox_key: str, *, count: int) -> dict[str, Any]:
    console.print(f"creating {count} visitor sessions")
    conversations = await sessions(run.base, inbox_key, count)
    await asyncio.sleep(2)
    baseline = rss_kb(pid_of(server))
    console.print(f"connecting {count} idle visitor sockets")
    started = time.perf_counter()
    live: list[ClientConnection] = []
    stop = asyncio.Event()
    beat = asyncio.create_task(heartbeat(live, stop))
    socks = await connect_all(
        [ws(run.base, "/ws/widget", c.token) for c in conversations], origin=ORIGIN, into=live
    )
    connect_seconds = time.perf_counter() - started
    drains = [asyncio.create_task(_drain(s)) for s in socks]
    await asyncio.sleep(5)
    connected = rss_kb(pid_of(server))
    cpu_before, t0 = cpu_seconds(pid_of(server)), time.perf_counter()
    await asyncio.sleep(30)
    cpu_rest = (cpu_seconds(pid_of(server)) - cpu_before) / (time.perf_counter() - t0)
    stop.set()
    beat.cancel()
    alive = sum(1 for d in drains if not d.done())
    for sock in socks:
        await sock.close()
    await asyncio.gather(*drains, beat, return_exceptions=True)
    return {
        "sockets": count,
        "still_open_after_rest": alive,
        "connect_seconds": round(connect_seconds, 1),
        "rss_before_kb": baseline,
        "rss_connected_kb": connected,
        "per_idle_connection_kb": round((connected - baseline) / count, 1),
        "server_cpu_cores_at_rest": round(cpu_rest, 3),
        "heartbeat_seconds": HEARTBEAT,
    }


async def _drain(sock: ClientConnection) -> None:
    async for _ in sock:
        pass


def report(results: dict[str, Any]) -> None:
    load, idle = results["load"], results.get("idle")
    table = Table(title="Live chat on one app process")
    for column in ("measure", "value", "target"):
        table.add_column(column)
    for name in ("visitor_to_agent", "agent_to_visitor"):
        s = load[name]
        target = f"p99 < {P99_TARGET_MS:.0f} ms" if name == "visitor_to_agent" else ""
        table.add_row(
            name.replace("_", " "),
            f"p50 {s['p50_ms']} ms, p95 {s['p95_ms']} ms, p99 {s['p99_ms']} ms ({s['requests']})",
            target,
        )
    table.add_row(
        f"delivery (not arrived = still missing {DRAIN_SECONDS} s after sending stopped)",
        json.dumps(load["delivery"]),
        "0 lost, 0 doubled, in order",
    )
    table.add_row("stored in the database", json.dumps(load["stored"]), "each once")
    table.add_row(
        "throughput",
        f"offered {load['offered_per_second']}/s, acknowledged "
        f"{load['acknowledged_per_second_while_sending']}/s while sending; all delivered "
        f"{load['seconds_after_sending_until_delivered']} s after sending stopped",
        f"{2 * results['config']['rate']:.0f}/s",
    )
    table.add_row(
        f"memory per idle connection ({load['sockets']} sockets)",
        f"{load['per_idle_connection_kb']} KB",
        f"< {IDLE_KB_TARGET:.0f} KB",
    )
    table.add_row("server CPU under load", f"{load['server_cpu_cores_under_load']} cores", "")
    if idle:
        table.add_row(
            f"memory per idle connection ({idle['sockets']} sockets)",
            f"{idle['per_idle_connection_kb']} KB (RSS {idle['rss_connected_kb'] // 1024} MB)",
            f"< {IDLE_KB_TARGET:.0f} KB",
        )
        table.add_row(
            "server CPU at rest",
            f"{idle['server_cpu_cores_at_rest']} cores ({idle['still_open_after_rest']} open)",
            "",
        )
    console.print(table)


async def main(args: argparse.Namespace) -> dict[str, Any]:
    limit = raise_fd_limit()
    url = database_url(DATABASE)
    await recreate_database(DATABASE)
    migrate(url)
    password = secrets.token_urlsafe(16)
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "DATABASE_POOL_SIZE": "20",
        "REDIS_URL": args.redis_url,
        "RELAYDESK_REDIS_PREFIX": f"bench-chat-{os.getpid()}",
        "RELAYDESK_ENV": "test",
        "RELAYDESK_SECRET_KEY": secrets.token_urlsafe(48),
        "RELAYDESK_DATA_DIR": str(ROOT / "bench" / "results" / "chat-data"),
        # One process holds every socket here (production spreads them over nodes).
        "RELAYDESK_MAX_CONNECTIONS": "20000",
        "RELAYDESK_WS_MAX_SOCKETS_PER_ADDRESS": "50000",
        "RELAYDESK_WS_FRAMES_PER_ADDRESS": "100000",
        "RELAYDESK_WS_HEARTBEAT_SECONDS": str(HEARTBEAT),
    }
    create_admin(env, ADMIN_EMAIL, password)
    server = Server(env, workers=1)
    server.start()
    worker = subprocess.Popen(  # noqa: ASYNC220 - started once, before any load
        [*relaydesk_command(), "worker"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    results: dict[str, Any] = {
        "started_at": datetime.now(UTC).isoformat(),
        "commit": git_commit(),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "fd_limit": limit},
    }
    try:
        await server.wait_ready()
        async with httpx.AsyncClient(base_url=server.base_url) as http:
            login = await http.post(
                "/api/v1/auth/login", json={"email": ADMIN_EMAIL, "password": password}
            )
            admin = login.json()["token"]
        run = Run(server.base_url, admin)
        inbox = await setup(run, visitors=args.visitors, agents=args.agents)
        results["config"] = vars(args)
        results["load"] = await load_phase(
            run, server, visitors=args.visitors, agents=args.agents, rate=args.rate,
            seconds=args.seconds,
        )  # fmt: skip
        results["load"]["stored"] = await stored_messages(run)
        if args.idle:
            await asyncio.sleep(3)
            results["idle"] = await idle_phase(run, server, inbox["public_key"], count=args.idle)
    finally:
        server.stop()
        worker.terminate()
        worker.wait(timeout=15)
        if not args.keep_db:
            await drop_database(DATABASE)
    out = ROOT / "bench" / "results" / f"chat_load-{datetime.now(UTC):%Y%m%d-%H%M%S}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    report(results)
    console.print(f"results: {out.relative_to(ROOT)}")
    return results


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--visitors", type=int, default=2000)
    parser.add_argument("--agents", type=int, default=50)
    parser.add_argument("--rate", type=float, default=200.0, help="messages/s each way")
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--idle", type=int, default=10_000, help="idle sockets; 0 skips")
    parser.add_argument(
        "--redis-url", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/15")
    )
    parser.add_argument("--keep-db", action="store_true")
    parser.add_argument("--quick", action="store_true", help="200 visitors, 10 agents, 10 s")
    args = parser.parse_args()
    if args.quick:
        args.visitors, args.agents, args.seconds, args.idle = 200, 10, 10.0, 1000
        args.rate = 50.0
    return args


if __name__ == "__main__":
    sys.exit(0 if asyncio.run(main(parse())) else 1)
