"""API load benchmark: ticket creation under concurrency, filtered lists at 100k tickets.

    .venv/bin/python bench/api_load.py            # or: make bench
    .venv/bin/python bench/api_load.py --quick    # a one-minute smoke run

It creates the scratch database `relaydesk_bench` (dropped at the end unless --keep-db),
migrates it, creates an admin with `relaydesk create-admin`, and starts
`relaydesk serve --workers 2` on a free port. Then:

0. runs `bench/limit.sh`: pgbench with Relaydesk's create transaction on its own schema,
   the rate PostgreSQL alone sustains here (skip with --no-limit);
1. creates tickets through `POST /api/v1/tickets` at 16 concurrent clients and prints
   their rate as a share of that limit;
2. bulk-loads the database to 100,000 and then 1,000,000 tickets with SQL, ANALYZEs, and
   times the first page of `GET /api/v1/tickets` under each filter at each size;
3. prints `EXPLAIN (ANALYZE, BUFFERS)` of the application's own list statements.

Results go to bench/results/api_load-<time>.json. See bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import re
import secrets
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
from dataset import load
from harness import (
    ROOT,
    SERVER_DSN,
    Sample,
    Server,
    console,
    create_admin,
    database_url,
    drive,
    drop_database,
    git_commit,
    migrate,
    progress_bar,
    recreate_database,
)
from rich.table import Table

# Another checkout benchmarking on the same server picks its own name.
DATABASE = os.environ.get("BENCH_API_DATABASE", "relaydesk_bench")
ADMIN_EMAIL = "bench-admin@bench.relaydesk.test"
CREATE_P99_TARGET_MS = 25.0
LIST_P99_TARGET_MS = 30.0
# API creates a second as a share of what PostgreSQL alone sustains (bench/limit.sh).
LIMIT_SHARE_TARGET = 0.5
PRIORITIES = ("low", "normal", "normal", "normal", "high", "urgent")


async def login(client: httpx.AsyncClient, password: str) -> str:
    response = await client.post(
        "/api/v1/auth/login", json={"email": ADMIN_EMAIL, "password": password}
    )
    response.raise_for_status()
    token: str = response.json()["token"]
    return token


async def phase_create(client: httpx.AsyncClient, *, count: int, concurrency: int) -> Sample:
    """POST /api/v1/tickets; contacts repeat, as returning customers do."""
    contacts = max(1, count // 3)

    def request(i: int) -> Any:
        n = (i * 7919) % contacts
        return client.post(
            "/api/v1/tickets",
            json={
                "subject": f"Load test ticket {i}: cannot export invoices",
                "body": "Hello, the export button does nothing since this morning. " * 3,
                "priority": PRIORITIES[i % len(PRIORITIES)],
                "contact": {"email": f"customer{n}@load.example", "name": f"Customer {n}"},
            },
        )

    warmup = Sample("warm-up")
    await drive(warmup, min(200, count), concurrency, request, expect=201)
    sample = Sample("create")
    with progress_bar() as bar:
        task = bar.add_task(f"create tickets (x{concurrency})", total=count)
        await drive(
            sample,
            count,
            concurrency,
            lambda i: request(i + 1_000_000),
            expect=201,
            on_done=lambda: bar.advance(task),
        )
    return sample


def run_limit(clients: int) -> dict[str, float]:
    """bench/limit.sh's transactions per second, by transaction shape; its output is shown."""
    process = subprocess.Popen(
        ["bash", str(ROOT / "bench" / "limit.sh")],
        cwd=ROOT,
        env={**os.environ, "CLIENTS": str(clients), "PYTHON": sys.executable},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    rates: dict[str, float] = {}
    for line in process.stdout:
        if found := re.fullmatch(r"limit_tps_(\w+)=([\d.]+)", line.strip()):
            rates[found[1]] = float(found[2])
        else:
            console.print(line.rstrip(), highlight=False, markup=False)
    if process.wait() != 0 or "full" not in rates:
        raise RuntimeError("bench/limit.sh failed (its output is above)")
    return rates


async def list_filters(
    conn: asyncpg.Connection, loaded: Any, now: datetime
) -> dict[str, dict[str, Any]]:
    contact_id = await conn.fetchval(
        "SELECT contact_id FROM tickets GROUP BY contact_id"
        " ORDER BY count(*) DESC, contact_id LIMIT 1"
    )
    day = (now - timedelta(days=30)).replace(microsecond=0)
    return {
        "no filter": {},
        "status=open": {"status": "open"},
        "priority=urgent": {"priority": "urgent"},
        "assignee_id": {"assignee_id": loaded.agents[0]},
        "team_id": {"team_id": loaded.teams[1]},
        "tag=vip": {"tag": "vip"},
        "contact_id": {"contact_id": contact_id},
        "status=open&priority=urgent": {"status": "open", "priority": "urgent"},
        "created_after..before (1 day)": {
            "created_after": day.isoformat(),
            "created_before": (day + timedelta(days=1)).isoformat(),
        },
    }


async def phase_list(
    client: httpx.AsyncClient,
    filters: dict[str, dict[str, Any]],
    *,
    count: int,
    concurrency: int,
) -> dict[str, Sample]:
    samples: dict[str, Sample] = {}
    with progress_bar() as bar:
        for name, params in filters.items():
            first = await client.get("/api/v1/tickets", params=params)
            first.raise_for_status()
            if not first.json()["items"]:
                console.print(f"[yellow]warning:[/] filter {name} returns no tickets")
            sample = Sample(name)
            task = bar.add_task(f"list {name}", total=count)
            await drive(
                sample,
                count,
                concurrency,
                lambda i, params=params: client.get("/api/v1/tickets", params=params),
                expect=200,
                on_done=lambda task=task: bar.advance(task),
            )
            samples[name] = sample
    return samples


async def phase_explain(
    conn: asyncpg.Connection, filters: dict[str, dict[str, Any]], admin_id: int
) -> dict[str, dict[str, Any]]:
    """EXPLAIN the statements the API runs, built by the app's own repository code."""
    from sqlalchemy.dialects import postgresql

    from app.auth.actor import Actor
    from app.pagination import DEFAULT_LIMIT, paginate
    from app.tickets.models import Ticket
    from app.tickets.repository import TicketFilters, readable_tickets

    actor = Actor(admin_id, "admin", frozenset(), frozenset({"read", "write"}))
    dialect = postgresql.asyncpg.dialect()  # type: ignore[attr-defined]
    plans: dict[str, dict[str, Any]] = {}
    for name, params in filters.items():
        values: dict[str, Any] = {}
        for key, value in params.items():
            if key in {"status", "priority"}:
                values[key] = (value,)
            elif key.startswith(("created_", "updated_")):
                values[key] = datetime.fromisoformat(value)
            else:
                values[key] = value
        stmt = paginate(
            readable_tickets(actor, TicketFilters(**values)),
            Ticket.id,
            limit=DEFAULT_LIMIT,
            cursor=None,
        )
        compiled = stmt.compile(dialect=dialect, compile_kwargs={"render_postcompile": True})
        args = [compiled.params[key] for key in compiled.positiontup or ()]
        rows = await conn.fetch("EXPLAIN (ANALYZE, BUFFERS) " + str(compiled), *args)
        plan = "\n".join(r[0] for r in rows)
        plans[name] = {
            "sql": str(compiled),
            "params": [str(a) for a in args],
            "plan": plan,
            "seq_scan": "Seq Scan on tickets" in plan,
        }
        style = "red" if plans[name]["seq_scan"] else "green"
        console.rule(f"[{style}]{name}")
        console.print(plan, highlight=False, markup=False)
    return plans


def report(results: dict[str, Any]) -> None:
    table = Table(title="Relaydesk API load benchmark")
    for column in ("workload", "requests", "rps", "p50 ms", "p95 ms", "p99 ms", "target p99", "ok"):
        table.add_column(column, justify="left" if column == "workload" else "right")

    def row(name: str, summary: dict[str, Any], target: float | None) -> None:
        ok = (
            ""
            if target is None
            else ("yes" if summary["p99_ms"] < target and not summary["errors"] else "NO")
        )
        table.add_row(
            name,
            str(summary["requests"]),
            str(summary["throughput_rps"]),
            f"{summary['p50_ms']:.1f}",
            f"{summary['p95_ms']:.1f}",
            f"{summary['p99_ms']:.1f}",
            f"< {target:.0f}" if target else "",
            ok,
        )

    if "create" in results:
        row(
            f"POST /tickets (x{results['config']['concurrency']})",
            results["create"],
            CREATE_P99_TARGET_MS,
        )
    for total, lists in results.get("lists", {}).items():
        for name, summary in lists.items():
            row(f"GET /tickets {name} @ {int(total):,}", summary, LIST_P99_TARGET_MS)
    console.print(table)
    if (limit := results.get("limit")) and "create" in results:
        share = results["create"]["throughput_rps"] / limit["full"]
        style = "green" if share >= LIMIT_SHARE_TARGET else "red"
        console.print(
            f"PostgreSQL alone (bench/limit.sh, {results['config']['concurrency']} clients): "
            f"{limit['full']:,.0f} create transactions/s "
            f"({limit.get('minimal', float('nan')):,.0f}/s for lookup + ticket + message + "
            f"outbox only); the API created {results['create']['throughput_rps']:,.0f}/s: "
            f"[{style}]{share:.1%}[/] of the limit (target {LIMIT_SHARE_TARGET:.0%})"
        )
    for name, plan in results.get("explain", {}).items():
        if plan["seq_scan"]:
            console.print(f"[red]not index-backed:[/] {name}")
    for name, summary in [("create", results.get("create")), *results.get("list", {}).items()]:
        if summary and summary["errors"]:
            console.print(f"[red]errors in {name}:[/] {summary['errors']}")


async def main(args: argparse.Namespace) -> int:
    now = datetime.now(UTC)
    url = database_url(DATABASE)
    password = secrets.token_urlsafe(16)
    data_dir = ROOT / "bench" / "results" / "data"
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "RELAYDESK_ENV": "dev",
        "RELAYDESK_SECRET_KEY": secrets.token_urlsafe(48),
        "RELAYDESK_DATA_DIR": str(data_dir),
        "DATABASE_POOL_SIZE": str(args.pool_size),
    }
    results: dict[str, Any] = {
        "started_at": now.isoformat(),
        "commit": git_commit(),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "config": vars(args),
        "targets": {"create_p99_ms": CREATE_P99_TARGET_MS, "list_p99_ms": LIST_P99_TARGET_MS},
    }

    if args.limit:
        console.rule("phase 0: what PostgreSQL alone sustains (bench/limit.sh)")
        results["limit"] = run_limit(args.concurrency)

    with console.status(f"creating and migrating {DATABASE}"):
        await recreate_database(DATABASE)
        migrate(url)
        create_admin(env, ADMIN_EMAIL, password)
    server = Server(env=env, workers=args.workers)
    try:
        with console.status("starting the server"):
            server.start()
            await server.wait_ready()
        console.print(f"server: {' '.join(server.command)}  (log: {server.log_path})")
        async with httpx.AsyncClient(
            base_url=server.base_url,
            timeout=30.0,
            limits=httpx.Limits(
                max_connections=args.concurrency, max_keepalive_connections=args.concurrency
            ),
        ) as client:
            client.headers["Authorization"] = f"Bearer {await login(client, password)}"

            console.rule(f"phase 1: {args.creates} creates at concurrency {args.concurrency}")
            create = await phase_create(client, count=args.creates, concurrency=args.concurrency)
            results["create"] = create.summary()

            conn = await asyncpg.connect(SERVER_DSN + "/" + DATABASE)
            try:
                results["lists"] = {}
                for total in args.totals:
                    console.rule(f"phase 2: {total:,} tickets, filtered first pages")
                    with console.status("bulk-loading tickets and running ANALYZE"):
                        loaded = await load(conn, total=total, now=now)
                    console.print(
                        f"{loaded.tickets:,} tickets, {loaded.contacts:,} contacts, "
                        f"{len(loaded.agents)} agents, {len(loaded.teams)} teams "
                        f"(loaded in {loaded.seconds:.1f}s)"
                    )
                    results.setdefault("dataset", {})[total] = {
                        "tickets": loaded.tickets,
                        "contacts": loaded.contacts,
                        "load_seconds": round(loaded.seconds, 1),
                    }
                    filters = await list_filters(conn, loaded, now)
                    results["filters"] = filters
                    samples = await phase_list(
                        client, filters, count=args.list_requests, concurrency=args.list_concurrency
                    )
                    results["lists"][total] = {name: s.summary() for name, s in samples.items()}
                # The charts (bench/charts.py) draw the first size.
                results["list"] = results["lists"][args.totals[0]]

                console.rule(f"phase 3: query plans of the list statements at {total:,} tickets")
                admin_id = await conn.fetchval(
                    "SELECT id FROM agents WHERE email = $1", ADMIN_EMAIL
                )
                results["explain"] = await phase_explain(conn, filters, admin_id)
            finally:
                await conn.close()
    except Exception:
        console.print(
            f"[red]server log tail:[/]\n{server.log_tail()}", markup=True, highlight=False
        )
        raise
    finally:
        server.stop()
        if not args.keep_db:
            await drop_database(DATABASE)

    out_dir = ROOT / "bench" / "results"
    out_dir.mkdir(parents=True, exist_ok=True)
    out = out_dir / f"api_load-{now:%Y%m%d-%H%M%S}.json"
    out.write_text(json.dumps(results, indent=2, default=str))
    report(results)
    console.print(f"results: {out.relative_to(ROOT)}")
    return 0


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--creates", type=int, default=5000, help="tickets created via the API")
    parser.add_argument(
        "--concurrency", type=int, default=16, help="concurrent clients for creates"
    )
    parser.add_argument(
        "--totals",
        type=lambda text: sorted(int(n) for n in text.split(",")),
        default=[100_000, 1_000_000],
        help="database sizes the lists are timed at (comma-separated ticket counts)",
    )
    parser.add_argument(
        "--no-limit",
        dest="limit",
        action="store_false",
        help="skip bench/limit.sh (the pgbench ceiling)",
    )
    parser.add_argument("--list-requests", type=int, default=300, help="requests per list filter")
    parser.add_argument("--list-concurrency", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2, help="server worker processes")
    parser.add_argument("--pool-size", type=int, default=10, help="DATABASE_POOL_SIZE per worker")
    parser.add_argument("--keep-db", action="store_true", help=f"keep {DATABASE} afterwards")
    parser.add_argument(
        "--quick", action="store_true", help="small smoke run (500 creates, 10k tickets)"
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.creates, args.totals, args.list_requests = 500, [10_000], 50
    return args


if __name__ == "__main__":
    sys.exit(asyncio.run(main(parse_args(sys.argv[1:]))))
