"""What a visitor's message on a known conversation costs the app: CPU and round trips.

    .venv/bin/python bench/chat_message_cost.py            # the quick path (app.chat.quick)
    .venv/bin/python bench/chat_message_cost.py --full     # the full path, for comparison

One process, no network between client and server: the socket handler
(app.realtime.visitor) is called as a socket's frames would call it, so the CPU measured is
the server's own work per message (the handler, SQLAlchemy, asyncpg), not websocket
framing or a load client. It creates the scratch database `relaydesk_bench_chat_cost` (or
$BENCH_CHAT_DATABASE; dropped at the end), migrates it, adds an SLA policy (first and next
response, as a real inbox has), opens a conversation for each visitor through the full
path, then sends `--messages` messages round-robin with `--concurrency` in flight and
prints CPU and wall time per message and the statements (round trips) per message.
`--full` installs the same hooks without their quiet derivation, so every message takes
ingest and the lifecycle. Results go to bench/results/chat_message_cost-<time>.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from harness import ROOT, console, database_url, drop_database, git_commit, migrate
from harness import recreate_database as recreate

# Run as a script, this folder comes first on sys.path and its routing.py would shadow
# the `routing` package the app imports; the imports below must follow this line.
# ruff: noqa: E402
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).parent.resolve()]

from redis.asyncio import Redis
from sqlalchemy import event

from app.attachments.storage import AttachmentStore
from app.chat.models import ChatVisitor
from app.chat.port import ChatSettings
from app.clock import utc_now
from app.config import DatabaseSettings, RedisSettings, SecuritySettings, Settings, StorageSettings
from app.db.engine import create_engine, create_sessionmaker, transaction
from app.inboxes.models import Inbox
from app.main import CHAT_ADAPTER, build_lifecycle_hooks
from app.realtime.hub import Hub
from app.realtime.runtime import Realtime
from app.realtime.sockets import VisitorSocket
from app.realtime.visitor import VisitorSession
from app.security.crypto import SecretBox
from app.sla.models import SlaPolicy
from app.tickets.hooks import install_hooks

DATABASE = os.environ.get("BENCH_CHAT_DATABASE", "relaydesk_bench_chat_cost")


def _policy() -> SlaPolicy:
    return SlaPolicy(
        name="Chat",
        conditions={},
        pauses={},
        actions={},
        targets=[
            {"metric": m, "priority": p, "minutes": 30, "business_hours": False}
            for m in ("first_response", "next_response")
            for p in ("low", "normal", "high", "urgent")
        ],
    )


async def run(args: argparse.Namespace) -> dict[str, Any]:
    url = database_url(DATABASE)
    await recreate(DATABASE)
    migrate(url)
    settings = Settings(
        env="test",
        database=DatabaseSettings(url=url, pool_size=args.concurrency),
        redis=RedisSettings(url=args.redis_url),
        security=SecuritySettings(secret_key=secrets.token_urlsafe(32)),
        storage=StorageSettings(data_dir=Path(tempfile.mkdtemp(prefix="chat-cost-"))),
    )
    engine = create_engine(settings.database)
    sessionmaker = create_sessionmaker(engine)
    hooks = build_lifecycle_hooks(settings)
    if args.full:
        hooks.quiet_message = None
    install_hooks(sessionmaker, hooks)
    redis = Redis.from_url(args.redis_url)
    hub = Hub(sessionmaker, redis, prefix="bench-chat-cost")
    realtime = Realtime(
        settings=settings,
        sessionmaker=sessionmaker,
        hub=hub,
        chat=CHAT_ADAPTER,
        box=SecretBox(settings.security.secret_key),
        store=AttachmentStore(settings.storage),
        clock=utc_now,
    )
    chat_settings = ChatSettings(allowed_origins=("*",), rate_limit_per_minute=10**9)
    try:
        async with transaction(sessionmaker) as session:
            session.add(_policy())
            inbox = Inbox(name="Bench chat", channel="chat", settings={"allowed_origins": ["*"]})
            session.add(inbox)
            await session.flush()
            visitors = [ChatVisitor(inbox_id=inbox.id, name=f"v{i}") for i in range(args.visitors)]
            session.add_all(visitors)
        sessions = []
        for visitor in visitors:
            sock = VisitorSocket(
                realtime.new_id(),
                address="127.0.0.1",
                visitor_id=visitor.id,
                visitor_key=visitor.key,
                inbox_id=inbox.id,
            )
            sessions.append(VisitorSession(realtime, sock, settings=chat_settings))
        counter = iter(range(10**9))

        async def send(vs: VisitorSession) -> None:
            n = next(counter)
            await vs.handle({"type": "message.send", "client_id": f"m{n}", "body": f"message {n}"})
            text = vs.sock.queue.get_nowait()
            assert text is not None
            assert '"message.ack"' in text, text

        for vs in sessions:  # each opens its conversation (the full path)
            await send(vs)
        for vs in sessions:  # and warms the connections' prepared statements
            await send(vs)
        statements = 0

        def count(*_: Any) -> None:
            nonlocal statements
            statements += 1

        event.listen(engine.sync_engine, "before_cursor_execute", count)
        per_worker = args.messages // args.concurrency

        async def worker(i: int) -> None:
            mine = sessions[i :: args.concurrency]
            for k in range(per_worker):
                await send(mine[k % len(mine)])
                while not hub.queue.empty():  # nobody dispatches here
                    hub.queue.get_nowait()

        cpu, wall = time.process_time(), time.perf_counter()
        await asyncio.gather(*(worker(i) for i in range(args.concurrency)))
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        event.remove(engine.sync_engine, "before_cursor_execute", count)
        sent = per_worker * args.concurrency
        return {
            "path": "full" if args.full else "quick",
            "messages": sent,
            "cpu_ms_per_message": round(cpu * 1000 / sent, 3),
            "wall_ms_per_message": round(wall * 1000 / sent, 3),
            "messages_per_second": round(sent / wall, 1),
            "statements_per_message": round(statements / sent, 2),
        }
    finally:
        await redis.aclose()
        await engine.dispose()
        await drop_database(DATABASE)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--visitors", type=int, default=50)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--full", action="store_true", help="every message through ingest")
    parser.add_argument(
        "--redis-url", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/15")
    )
    args = parser.parse_args()
    result = asyncio.run(run(args))
    results = {
        "started_at": datetime.now(UTC).isoformat(),
        "commit": git_commit(),
        "config": vars(args),
        "load_average": os.getloadavg(),
        "result": result,
    }
    out = ROOT / "bench" / "results" / f"chat_message_cost-{datetime.now(UTC):%Y%m%d-%H%M%S}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    for key, value in result.items():
        console.print(f"{key}: {value}")
    console.print(f"load average: {os.getloadavg()}")
    console.print(f"results: {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
