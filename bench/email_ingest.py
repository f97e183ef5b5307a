"""Email ingest benchmark: a generated mailbox imported through IMAP into tickets.

    .venv/bin/python bench/email_ingest.py            # or: make bench-email
    .venv/bin/python bench/email_ingest.py --quick    # 500 messages

It creates the scratch database `relaydesk_bench_email` (dropped at the end unless
--keep-db), migrates it, starts a private dovecot (tests.servers.dovecot) and delivers a
generated mailbox (bench/mailgen.py) into the account's maildir. Then the real
`InboxPoller.sync` imports it over IMAP in this process, the way the worker does: fetch,
store raw, parse and ingest each message, mark it seen. Measured: messages per second
from opening the IMAP connection to the last message being on a ticket, the time in each
step, SQL statements per message, and this process's RSS through the import.

Results go to bench/results/email_ingest-<time>.json. See bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import json
import os
import platform
import pstats
import pwd
import secrets
import shutil
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from random import Random
from typing import Any

import asyncpg
from harness import (
    ROOT,
    SERVER_DSN,
    console,
    database_url,
    drop_database,
    git_commit,
    migrate,
    progress_bar,
    recreate_database,
)
from ingest_check import threading, verify
from mailgen import MailGenerator
from outbound import ACK_LATENESS_TARGET, ACK_TEXT, Outbound, wait_for_acks
from probes import (
    Steps,
    TimedMailbox,
    TimedPoller,
    children_cpu_seconds,
    cpu_seconds,
    memory_mib,
    reset_peak,
    timed_parse,
)
from rich.progress import TextColumn
from rich.table import Table
from sqlalchemy import event

from app.attachments.storage import AttachmentStore
from app.clock import utc_now
from app.config import DatabaseSettings, SecuritySettings, Settings, StorageSettings
from app.db import registry as _registry  # noqa: F401  (every table, for the ORM's foreign keys)
from app.db.engine import create_engine, create_sessionmaker, transaction
from app.inboxes.models import Inbox
from app.security.crypto import SecretBox
from channels.email.poller import LOCK_NAMESPACE

sys.path.insert(0, str(ROOT))  # tests/ is not an installed package
from tests.servers.dovecot import Account, Dovecot

# Another checkout benchmarking on the same server picks its own name.
DATABASE = os.environ.get("BENCH_EMAIL_DATABASE", "relaydesk_bench_email")
SUPPORT = "support@relaydesk-bench.example"
RATE_TARGET = 500.0  # messages per second, from the first stored to the last imported
RSS_GROWTH_TARGET_MIB = 16.0  # from the 20% sample to the end: flat, not per message
SAMPLES = 10  # RSS samples through the import, at every 10%
CPU_NAMES = ("postgres", "imap", "dovecot")  # processes whose CPU time is reported
ACK_WAIT_SECONDS = 180.0  # after the import, for the last acknowledgements


# -- delivery ----------------------------------------------------------------------------


def deliver(account: Account, messages: Iterable[bytes], count: int) -> float:
    """Write each message into the account's maildir as an MDA does: tmp/, then new/.

    The base names start with strictly increasing seconds: dovecot gives new files their
    UIDs in that order, so every reply gets a higher UID than the message it answers.
    """
    server = account.server
    # Dovecot creates the maildir (as its mail user) on the first access.
    server._doveadm("mailbox", "status", "-u", account.address, "messages", "INBOX")
    maildir = server.mail_dir / account.address
    owner = pwd.getpwnam("mail") if os.geteuid() == 0 else None  # see Dovecot.start
    first = int(time.time()) - count - 60
    started = time.perf_counter()
    with progress_bar() as bar:
        task = bar.add_task("generate and deliver", total=count)
        for index, raw in enumerate(messages):
            name = f"{first + index}.M{index % 1_000_000:06d}P{os.getpid()}.bench,S={len(raw)}"
            tmp = maildir / "tmp" / name
            with tmp.open("wb") as handle:
                handle.write(raw)
            if owner is not None:
                os.chown(tmp, owner.pw_uid, owner.pw_gid)
            os.rename(tmp, maildir / "new" / name)
            bar.advance(task)
    return time.perf_counter() - started


def index_mailbox(account: Account) -> int:
    """Let dovecot assign UIDs and index the new files now, as its LDA would on delivery."""
    out = account.server._doveadm(
        "-f", "tab", "-h", "mailbox", "status", "-u", account.address, "messages", "INBOX"
    )
    return int(out.decode().split()[-1])


def unseen(account: Account) -> int:
    out = account.server._doveadm("search", "-u", account.address, "mailbox", "INBOX", "unseen")
    return len(out.splitlines())


# -- the measured import -----------------------------------------------------------------


async def create_inbox(settings: Settings, account: Account, outbound: Outbound | None) -> int:
    """An email inbox as an admin would configure it, acknowledging every new ticket (sent
    to the benchmark's SMTP sink) unless --no-ack, with a rate limit no benchmark sender
    reaches."""
    box = SecretBox(settings.security.secret_key)
    engine = create_engine(settings.database)
    try:
        async with transaction(create_sessionmaker(engine)) as session:
            inbox = Inbox(
                name="Support (benchmark)",
                channel="email",
                settings={
                    "address": SUPPORT,
                    "imap_host": account.host,
                    "imap_port": account.port,
                    "imap_security": "none",
                    "imap_username": account.address,
                    "imap_folder": "INBOX",
                    "smtp_host": "127.0.0.1",
                    "smtp_port": outbound.smtp_port if outbound else 25,
                    "smtp_security": "none",
                    "after_import": "mark_seen",
                    "auto_acknowledge": outbound is not None,
                    "auto_acknowledge_text": ACK_TEXT,
                    "rate_limit_messages": 10_000,
                    "rate_limit_minutes": 1,
                },
                secrets_encrypted=box.seal({"imap_password": account.password}),
            )
            session.add(inbox)
            await session.flush()
            return inbox.id
    finally:
        await engine.dispose()


async def import_mailbox(
    settings: Settings,
    inbox_id: int,
    count: int,
    *,
    database: str,
    profile: cProfile.Profile | None,
    analyze_on_the_way: bool,
    outbound: Outbound | None,
) -> dict[str, Any]:
    """Run `InboxPoller.sync` over the whole mailbox, sampling RSS every tenth of it.

    With `analyze_on_the_way` the database is ANALYZEd at each sample, in the background,
    as autovacuum would do on a server where it is on: the plans of a database that
    grows from empty otherwise stay those of an empty one.
    """
    engine = create_engine(settings.database)
    # Opened before the first RSS sample, so that its buffers are not counted as growth.
    analyzer = await asyncpg.connect(SERVER_DSN + "/" + database)
    analyses: list[asyncio.Task[str]] = []
    statements: Counter[str] = Counter()
    commits = 0

    def on_statement(conn: Any, cursor: Any, sql: str, *args: Any) -> None:
        statements[sql.lstrip().split(None, 1)[0].upper()] += 1

    def on_commit(conn: Any) -> None:
        nonlocal commits
        commits += 1

    event.listen(engine.sync_engine, "before_cursor_execute", on_statement)
    event.listen(engine.sync_engine, "commit", on_commit)
    steps = Steps()
    poller = TimedPoller(
        inbox_id,
        sessionmaker=create_sessionmaker(engine),
        store=AttachmentStore(settings.storage),
        box=SecretBox(settings.security.secret_key),
        clock=utc_now,
    )
    email_settings = await poller.load_settings()
    assert email_settings is not None
    samples: list[dict[str, Any]] = []
    marks = [round(count * k / SAMPLES) for k in range(1, SAMPLES + 1)]
    done = 0
    undo = timed_parse(steps)
    try:
        with progress_bar(TextColumn("{task.fields[rate]:>6} msg/s")) as bar:
            task = bar.add_task("import through IMAP", total=count, rate="")

            def on_import(status: str) -> None:
                nonlocal done
                done += 1
                bar.advance(task)
                if done in marks:
                    elapsed = time.perf_counter() - started
                    samples.append({"messages": done, "seconds": round(elapsed, 2), **memory_mib()})
                    bar.update(task, rate=f"{done / elapsed:.0f}")
                    busy = analyses and not analyses[-1].done()  # one connection, one query
                    if analyze_on_the_way and done < count and not busy:
                        analyses.append(asyncio.create_task(analyzer.execute("ANALYZE")))

            poller.on_import, poller.steps = on_import, steps
            gc.collect()
            reset_peak()
            before = memory_mib()
            if profile is not None:
                profile.enable()
            cpu_before = cpu_seconds(CPU_NAMES)
            others_before = children_cpu_seconds(outbound.pids() if outbound else {})
            started = time.perf_counter()
            mailbox = TimedMailbox(poller.imap_config(email_settings))
            mailbox.steps = steps
            async with mailbox:
                stored = await poller.sync(mailbox, email_settings)
                seconds = time.perf_counter() - started
                # Before the logout ends dovecot's imap process and its CPU count.
                cpu_after = cpu_seconds(CPU_NAMES)
                others_after = children_cpu_seconds(outbound.pids() if outbound else {})
            if profile is not None:
                profile.disable()
            acks = None
            if outbound is not None:
                conn = await asyncpg.connect(SERVER_DSN + "/" + database)
                try:
                    acks = await wait_for_acks(conn, outbound, patience=ACK_WAIT_SECONDS)
                finally:
                    await conn.close()
                if acks["last_arrival"] is not None:
                    acks["last_after_last_import_seconds"] = round(
                        acks["last_arrival"] - poller.last_imported_at, 2
                    )
    finally:
        undo()
        await asyncio.gather(*analyses)
        await analyzer.close()
        await engine.dispose()
    assert poller.first_stored is not None
    window = poller.last_imported - poller.first_stored
    cpu = {name: round(cpu_after[name] - cpu_before[name], 2) for name in cpu_before}
    cpu.update({name: round(others_after[name] - others_before.get(name, 0.0), 2)
                for name in others_after})  # fmt: skip
    return {
        "seconds": round(seconds, 3),
        "stored_to_imported_seconds": round(window, 3),
        "stored": stored,
        "messages_per_second": round(count / window, 1),
        "messages_per_second_from_connect": round(count / seconds, 1),
        "acknowledgements": acks,
        "steps_seconds": {
            name: round(value, 3) for name, value in asdict(steps).items() if name != "statuses"
        },
        "poller_statuses": dict(steps.statuses),
        "sql_statements": dict(statements.most_common()),
        "sql_statements_per_message": round(sum(statements.values()) / count, 1),
        "commits": commits,
        "analyzed_during_import": len(analyses),
        "cpu_seconds": cpu,
        "cpu_ms_per_message": round(sum(cpu.values()) / count * 1000, 2),
        "memory_mib": {
            "before": before,
            "samples": samples,
            "after": memory_mib(),
            # Caches and pools fill in the first messages; after that RSS should stay put.
            "growth_after_first_fifth": round(
                samples[-1]["rss"] - samples[min(1, len(samples) - 1)]["rss"], 1
            ),
        },
    }


async def postgres_facts(conn: asyncpg.Connection) -> dict[str, str]:
    names = ("server_version", "autovacuum", "fsync", "synchronous_commit", "shared_buffers")
    return {name: await conn.fetchval(f"SHOW {name}") for name in names}


# -- report ------------------------------------------------------------------------------


def report(case: dict[str, Any], postgres: dict[str, str]) -> None:
    imported, db, gen = case["import"], case["database"], case["mailbox"]
    count = gen["messages"]
    memory = imported["memory_mib"]
    samples = memory["samples"]
    growth = memory["growth_after_first_fifth"]

    table = Table(title=f"Relaydesk email ingest benchmark, mailbox {case['order']}")
    for column in ("measurement", "value", "target", "ok"):
        table.add_column(column, justify="left" if column == "measurement" else "right")

    def row(name: str, value: str, target: str = "", ok: bool | None = None) -> None:
        table.add_row(name, value, target, "" if ok is None else ("yes" if ok else "NO"))

    rate = imported["messages_per_second"]
    row("messages per second, first stored to last imported", f"{rate:.0f} msg/s",
        f">= {RATE_TARGET:.0f}", rate >= RATE_TARGET)  # fmt: skip
    row("  from opening IMAP to sync returning",
        f"{imported['messages_per_second_from_connect']:.0f} msg/s")  # fmt: skip
    row("wall time", f"{imported['seconds']:.1f} s")
    acks = imported.get("acknowledgements")
    if acks:
        row("acknowledgements sent / new tickets", f"{acks['arrived']} / {acks['expected']}",
            str(acks["expected"]), acks["arrived"] == acks["expected"])  # fmt: skip
        row("ack lateness (import to SMTP server) p50 / p99 / max",
            f"{acks['p50_seconds']} / {acks['p99_seconds']} / {acks['max_seconds']} s",
            f"max <= {ACK_LATENESS_TARGET:.0f} s",
            (acks["max_seconds"] or 1e9) <= ACK_LATENESS_TARGET)  # fmt: skip
        row("acks later than that", str(acks["later_than_target"]), "0",
            acks["later_than_target"] == 0)  # fmt: skip
        row("last ack after the last import", f"{acks.get('last_after_last_import_seconds')} s")
    row("inbound messages in PostgreSQL", str(db["inbound_messages"]), str(count),
        db["inbound_messages"] == count)  # fmt: skip
    row("tickets (new conversations)", str(db["tickets"]), str(gen["new_conversations"]),
        db["tickets"] == gen["new_conversations"])  # fmt: skip
    row("tickets with follow-ups", str(db["tickets_with_follow_ups"]))
    row("follow-ups (messages - tickets)", str(db["inbound_messages"] - db["tickets"]),
        str(gen["replies"] + gen["auto_replies"]))  # fmt: skip
    for status, n in db["inbound_items"].items():
        row(f"inbound_items {status}", str(n), str(count) if status == "imported" else "0",
            n == count if status == "imported" else n == 0)  # fmt: skip
    row("attachments stored", str(db["attachments"]), str(gen["with_attachment"]))
    row("left unseen in IMAP", str(case["unseen_after"]), "0", case["unseen_after"] == 0)
    row("RSS before import", f"{memory['before']['rss']:.0f} MiB")
    row("RSS peak during import", f"{memory['after']['peak']:.0f} MiB")
    row(f"RSS growth {samples[min(1, len(samples) - 1)]['messages']}..{count} messages",
        f"{growth:+.1f} MiB", f"<= {RSS_GROWTH_TARGET_MIB:.0f}",
        growth <= RSS_GROWTH_TARGET_MIB)  # fmt: skip
    row("SQL statements per message", str(imported["sql_statements_per_message"]))
    row("ANALYZE runs during the import", str(imported["analyzed_during_import"]),
        f"(autovacuum {postgres['autovacuum']})")  # fmt: skip
    cpu = imported["cpu_seconds"]
    row("CPU: benchmark process / parser / PostgreSQL / dovecot",
        f"{cpu['bench']:.1f} / {cpu.get('parser', 0):.1f} / {cpu['postgres']:.1f} / "
        f"{cpu['imap'] + cpu['dovecot']:.1f} s",
        f"of {imported['seconds'] * (os.cpu_count() or 1):.0f} core-s")  # fmt: skip
    if "worker" in cpu:
        row("CPU: worker (relay, sends) / SMTP server / Redis",
            f"{cpu['worker']:.1f} / {cpu.get('smtp', 0):.1f} / "
            f"{cpu.get('redis', 0):.1f} s")  # fmt: skip
    row("CPU per message, all of the above", f"{imported['cpu_ms_per_message']:.2f} ms",
        f"{1000 / imported['cpu_ms_per_message'] * (os.cpu_count() or 1):.0f} msg/s "
        f"on {os.cpu_count()} idle cores")  # fmt: skip
    console.print(table)

    rss = Table(title="RSS through the import")
    for column in ("messages", "seconds", "msg/s so far", "RSS MiB", "peak MiB"):
        rss.add_column(column, justify="right")
    rss.add_row("0", "0.0", "", f"{memory['before']['rss']:.1f}", "")
    for sample in samples:
        rss.add_row(str(sample["messages"]), f"{sample['seconds']:.1f}",
                    f"{sample['messages'] / sample['seconds']:.0f}", f"{sample['rss']:.1f}",
                    f"{sample['peak']:.1f}")  # fmt: skip
    console.print(rss)

    steps = Table(title="Where the import's time goes")
    for column in ("step", "seconds", "share", "ms per message"):
        steps.add_column(column, justify="left" if column == "step" else "right")
    total = imported["seconds"]
    s = imported["steps_seconds"]
    other = total - s["imap_fetch"] - s["store_raw"] - s["import_"] - s["mark_seen"]
    for name, value in (
        ("IMAP fetch (UID FETCH BODY.PEEK[], 50 a batch)", s["imap_fetch"]),
        ("store raw (compress, INSERT, batch commit)", s["store_raw"]),
        ("import (rules, ingest; one transaction a batch)", s["import_"]),
        ("  of which parse_email in this process (per-message path)", s["parse"]),
        ("mark seen (UID STORE, settled_uid; per batch)", s["mark_seen"]),
        ("other (connect, select, search, waiting for the parser)", other),
        ("parse in the parser process, beside the above", s["parse_pool"]),
    ):
        steps.add_row(name, f"{value:.2f}", f"{value / total:.0%}", f"{value / count * 1000:.2f}")
    console.print(steps)
    for error in db["errors"]:
        console.print(f"[red]not imported:[/] {error}", markup=True, highlight=False)


def mailbox_messages(args: argparse.Namespace, order: str) -> tuple[MailGenerator, Iterable[bytes]]:
    """The generated mailbox in mailbox order, or the same messages appended in a shuffled
    order (replies before what they answer, as greylisting, several MX paths or an
    imported backlog deliver them)."""
    generator = MailGenerator(seed=args.seed, support_address=SUPPORT)
    messages = generator.messages(args.messages)
    if order == "shuffled":
        shuffled = list(messages)
        Random(args.seed).shuffle(shuffled)
        return generator, shuffled
    return generator, messages


async def run_case(
    args: argparse.Namespace, dovecot: Dovecot, order: str, profile: cProfile.Profile | None
) -> dict[str, Any]:
    """Deliver the mailbox in `order` to a fresh account and import it into a fresh
    database; what the import did and what it left."""
    database = DATABASE if order == "in order" else f"{DATABASE}_shuffled"
    url = database_url(database)
    data_dir = Path(tempfile.mkdtemp(prefix="relaydesk-bench-email-"))
    settings = Settings(
        env="dev",
        database=DatabaseSettings(url=url, pool_size=5),
        security=SecuritySettings(secret_key=secrets.token_urlsafe(48)),
        storage=StorageSettings(data_dir=data_dir),
    )
    case: dict[str, Any] = {"order": order, "database_name": database}
    with console.status(f"creating and migrating {database}"):
        await recreate_database(database)
        migrate(url)
    outbound = None
    if not args.no_ack:
        outbound = Outbound(database_url=url, secret_key=settings.security.secret_key,
                            data_dir=data_dir)  # fmt: skip
    poller_lock: asyncpg.Connection | None = None
    try:
        account = dovecot.new_account()
        inbox_id = await create_inbox(settings, account, outbound)
        # Held as a running poller holds it: the worker's mail supervisor leaves the inbox be.
        poller_lock = await asyncpg.connect(SERVER_DSN + "/" + database)
        await poller_lock.execute("SELECT pg_advisory_lock($1, $2)", LOCK_NAMESPACE, inbox_id)
        if outbound is not None:
            outbound.start_servers()
            outbound.start_worker()  # it starts while the mailbox is delivered
        console.rule(f"{args.messages:,} messages {order} into {account.address} on dovecot")
        generator, messages = mailbox_messages(args, order)
        seconds = deliver(account, messages, args.messages)
        del messages
        started = time.perf_counter()
        indexed = index_mailbox(account)
        case["mailbox"] = {
            **generator.stats.summary(),
            "contacts": len(generator.contacts),
            "deliver_seconds": round(seconds, 2),
            "dovecot_index_seconds": round(time.perf_counter() - started, 2),
        }
        conversations = generator.conversations
        del generator
        if indexed != args.messages:
            raise RuntimeError(f"dovecot has {indexed} messages, {args.messages} delivered")
        mix = case["mailbox"]
        console.print(
            f"{mix['messages']:,} messages ({mix['bytes'] / 2**20:.1f} MiB) from "
            f"{mix['contacts']} contacts: {mix['new_conversations']} conversations, "
            f"{mix['replies']} replies, {mix['auto_replies']} auto-replies, "
            f"{mix['with_html']} with HTML, {mix['with_attachment']} with attachments, "
            f"{mix['legacy_charset']} in legacy charsets {mix['charsets']}",
            highlight=False,
        )

        console.rule(f"import with InboxPoller.sync ({order})")
        if outbound is not None:
            console.print(
                f"acknowledgements on: `relaydesk worker` sends them to aiosmtpd on port "
                f"{outbound.smtp_port} (worker log {outbound.worker_log})",
                highlight=False,
            )
        conn = await asyncpg.connect(SERVER_DSN + "/" + database)
        try:
            case["postgres"] = await postgres_facts(conn)
        finally:
            await conn.close()
        analyze_on_the_way = case["postgres"]["autovacuum"] == "off" and not args.no_analyze
        if analyze_on_the_way:
            console.print(
                "autovacuum is off on this server: ANALYZE runs at every tenth of the "
                "import, as autovacuum would (--no-analyze to skip)"
            )
        case["import"] = await import_mailbox(
            settings,
            inbox_id,
            args.messages,
            database=database,
            profile=profile,
            analyze_on_the_way=analyze_on_the_way,
            outbound=outbound,
        )
        case["unseen_after"] = unseen(account)
        conn = await asyncpg.connect(SERVER_DSN + "/" + database)
        try:
            case["database"] = await verify(conn)
            case["threading"] = await threading(conn, conversations)
        finally:
            await conn.close()
    finally:
        if outbound is not None:
            outbound.stop(keep_logs=args.keep_db)
        if poller_lock is not None:
            await poller_lock.close()
        if not args.keep_db:
            await drop_database(database)
            shutil.rmtree(data_dir)
        else:
            console.print(f"kept {database}; its attachment files are in {data_dir}")
    return case


def report_threading(cases: list[dict[str, Any]]) -> None:
    table = Table(title="Threading: the same mailbox in both orders")
    table.add_column("measurement")
    for case in cases:
        table.add_column(case["order"], justify="right")
    rows = (
        ("tickets opened / conversations", lambda t: f"{t['tickets']} / {t['conversations']}"),
        ("replies on their conversation's ticket",
         lambda t: f"{t['replies_threaded']} / {t['replies']}"),
        ("replies that opened a ticket", lambda t: str(t["replies_opened_ticket"])),
        ("auto-replies on their conversation's ticket",
         lambda t: f"{t['auto_replies_threaded']} / {t['auto_replies']}"),
        ("auto-replies that opened a ticket", lambda t: str(t["auto_replies_opened_ticket"])),
        ("auto-replies still kept aside (ignored)", lambda t: str(t["auto_replies_kept_aside"])),
        ("tickets linked to another (for an agent to merge)",
         lambda t: str(t["tickets_linked"])),
        ("messages per second", None),
    )  # fmt: skip
    for name, cell in rows:
        if cell is None:
            values = [f"{c['import']['messages_per_second']:.0f}" for c in cases]
        else:
            values = [cell(c["threading"]) for c in cases]
        table.add_row(name, *values)
    console.print(table)


async def main(args: argparse.Namespace) -> int:
    now = datetime.now(UTC)
    results: dict[str, Any] = {
        "started_at": now.isoformat(),
        "commit": git_commit(),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            # Other work on these cores (a test run, say) slows the import down.
            "load_average": os.getloadavg(),
        },
        "config": vars(args),
        "targets": {
            "messages_per_second": RATE_TARGET,
            "rss_growth_mib": RSS_GROWTH_TARGET_MIB,
        },
    }
    profile = cProfile.Profile() if args.profile else None
    orders = ("in order", "shuffled") if args.order == "both" else (args.order.replace("-", " "),)
    with Dovecot() as dovecot:
        cases = [
            await run_case(args, dovecot, order, profile if index == 0 else None)
            for index, order in enumerate(orders)
        ]
    results["cases"] = {case["order"].replace(" ", "_"): case for case in cases}

    out_dir = ROOT / "bench" / "results"
    out_dir.mkdir(parents=True, exist_ok=True)
    out = out_dir / f"email_ingest-{now:%Y%m%d-%H%M%S}.json"
    for case in cases:
        report(case, case["postgres"])
    report_threading(cases)
    out.write_text(json.dumps(results, indent=2, default=str))
    if profile is not None:
        profile.dump_stats(args.profile)
        stats = pstats.Stats(profile, stream=sys.stdout)
        for order in ("cumulative", "tottime"):
            console.rule(f"profile of the import ({orders[0]}), by {order}")
            stats.sort_stats(order).print_stats(25)
        console.print(f"profile: {args.profile}")
    console.print(f"results: {out.relative_to(ROOT)}")
    return 0


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=5000, help="messages in the mailbox")
    parser.add_argument("--seed", type=int, default=20260302, help="seed of the generated mail")
    parser.add_argument("--keep-db", action="store_true", help=f"keep {DATABASE} afterwards")
    parser.add_argument("--quick", action="store_true", help="small smoke run (500 messages)")
    parser.add_argument(
        "--order",
        choices=("both", "in-order", "shuffled"),
        default="both",
        help="deliver the mailbox in order, shuffled, or both one after the other (default)",
    )
    parser.add_argument(
        "--no-ack",
        action="store_true",
        help="no acknowledgements (by default each new ticket is acknowledged by mail)",
    )
    parser.add_argument(
        "--no-analyze",
        action="store_true",
        help="never ANALYZE during the import (by default it does when autovacuum is off)",
    )
    parser.add_argument(
        "--profile", metavar="FILE", help="cProfile the import; write pstats to FILE"
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.messages = 500
    if args.messages < 1:
        parser.error("--messages must be at least 1")
    return args


if __name__ == "__main__":
    sys.exit(asyncio.run(main(parse_args(sys.argv[1:]))))
