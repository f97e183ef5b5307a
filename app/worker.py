"""The arq worker: one `WorkerSettings` collecting each package's `jobs.py`.

Jobs receive a `JobContext` built once per worker process in `startup`. Background loops
that are not jobs (the outbox relay, the mail supervisor) are listed by name in
`BACKGROUND_TASKS`: every worker process runs each of them next to its jobs, under the
process's `Supervisor` (app.supervisor: restarted with backoff after a crash, reported to
Redis for `/readyz` and `/metrics`), so they must be safe to run in several processes at
once (the relay claims rows with SKIP LOCKED, a mail poller holds an advisory lock).

`relaydesk worker` and `relaydesk dev` build the worker with `create_worker(settings)`: a
`LeasingWorker` (app.leases), so the jobs of a worker that died are taken over within
seconds. `arq app.worker.WorkerSettings` works too and reads the settings from the
environment, but runs arq's plain worker: there a dead worker's jobs wait out job_timeout.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Coroutine
from typing import Any, NotRequired, TypedDict, cast

import httpx
from arq.connections import ArqRedis, RedisSettings
from arq.cron import cron
from arq.worker import func
from sqlalchemy.ext.asyncio import AsyncEngine

from app.attachments.storage import AttachmentStore
from app.chat.jobs import MAX_EMAIL_TRIES, email_offline_visitor
from app.clock import Clock, utc_now
from app.config import Settings
from app.db.engine import SessionMaker, create_engine, create_sessionmaker
from app.db.rules_cache import listen_for_rule_changes
from app.inbound.jobs import process_inbound
from app.ingest.types import ChannelSender
from app.ingest.webhooks import WebhookAdapters
from app.leases import LeasingWorker
from app.main import WEBHOOK_ADAPTERS, build_lifecycle_hooks
from app.messages.jobs import MAX_JOB_TRIES, send_outbound, send_outbound_batch
from app.outbox import jobs as outbox_jobs
from app.outbox.relay import run_relay
from app.security.crypto import SecretBox
from app.supervisor import Supervisor, process_name, report_components
from app.tickets.hooks import install_hooks
from channels.email.parsing import close_shared_parser
from channels.email.poller import run_mail_pollers
from channels.email.smtp import SmtpPool, SmtpSender
from routing.runner import run_routing
from routing.sla.jobs import recompute_sla
from routing.sla.scheduler import run_sla_scheduler


class JobContext(TypedDict):
    """What every job finds in `ctx`; tests build one and call the job directly."""

    settings: Settings
    clock: Clock
    redis: ArqRedis
    sessionmaker: SessionMaker
    http: httpx.AsyncClient
    secret_box: SecretBox
    attachment_store: AttachmentStore
    senders: dict[str, ChannelSender]
    webhook_adapters: WebhookAdapters
    supervisor: Supervisor
    # Set by arq for each job run.
    job_id: NotRequired[str]
    job_try: NotRequired[int]


BackgroundTask = Callable[[JobContext], Coroutine[Any, Any, None]]


async def relay_outbox(ctx: JobContext) -> None:
    await run_relay(
        ctx["sessionmaker"],
        ctx["redis"],
        engine=ctx["_engine"],  # type: ignore[typeddict-item]
        clock=ctx["clock"],
        prefix=ctx["settings"].redis.channel_prefix,
    )


async def poll_mailboxes(ctx: JobContext) -> None:
    engine: AsyncEngine = ctx["_engine"]  # type: ignore[typeddict-item]
    await run_mail_pollers(
        ctx["sessionmaker"],
        engine,
        store=ctx["attachment_store"],
        box=ctx["secret_box"],
        clock=ctx["clock"],
        supervisor=ctx["supervisor"],
    )


async def fire_sla_events(ctx: JobContext) -> None:
    engine: AsyncEngine = ctx["_engine"]  # type: ignore[typeddict-item]
    await run_sla_scheduler(ctx["sessionmaker"], engine, clock=ctx["clock"])


async def route_tickets(ctx: JobContext) -> None:
    await run_routing(
        ctx["sessionmaker"],
        ctx["_engine"],  # type: ignore[typeddict-item]
        clock=ctx["clock"],
    )


async def forget_changed_rules(ctx: JobContext) -> None:
    await listen_for_rule_changes(ctx["_engine"])  # type: ignore[typeddict-item]


# Long-running loops started with every worker process, by the name they are reported
# under. Each is safe to run in several processes: the relay claims rows with SKIP LOCKED,
# a mail poller holds an advisory lock, the SLA scheduler claims tickets with SKIP LOCKED,
# routing locks agents and skips locked tickets.
BACKGROUND_TASKS: dict[str, BackgroundTask] = {
    "outbox-relay": relay_outbox,
    "mail-supervisor": poll_mailboxes,
    "sla-scheduler": fire_sla_events,
    "routing": route_tickets,
    "rules-cache": forget_changed_rules,
}


def channel_senders(settings: Settings, http: httpx.AsyncClient) -> dict[str, ChannelSender]:
    """The adapter that sends on each channel (`send_outbound` fails a message whose channel
    has none). The channel adapters register here: this is the composition root."""
    # Pooled: each inbox's mail goes out over connections kept open between jobs.
    return {"email": SmtpSender(pool=SmtpPool())}


async def startup(ctx: dict[str, Any]) -> None:
    settings: Settings = ctx.get("settings") or Settings.from_env()
    ctx["settings"] = settings
    ctx.setdefault("clock", utc_now)
    engine = create_engine(settings.database)
    ctx["_engine"] = engine
    ctx["sessionmaker"] = create_sessionmaker(engine)
    install_hooks(ctx["sessionmaker"], build_lifecycle_hooks(settings))
    ctx["http"] = httpx.AsyncClient(timeout=10.0)
    ctx["secret_box"] = SecretBox(settings.security.secret_key)
    ctx["attachment_store"] = AttachmentStore(settings.storage)
    ctx["senders"] = channel_senders(settings, ctx["http"])
    ctx.setdefault("webhook_adapters", WEBHOOK_ADAPTERS)
    supervisor = Supervisor(process_name("worker"))
    ctx["supervisor"] = supervisor
    job_ctx = cast("JobContext", ctx)
    ctx["_reporter"] = asyncio.create_task(
        report_components(supervisor, ctx["redis"], prefix=settings.redis.channel_prefix),
        name="relaydesk:report-components",
    )
    for name, task in BACKGROUND_TASKS.items():
        supervisor.run(name, functools.partial(task, job_ctx))


async def shutdown(ctx: dict[str, Any]) -> None:
    """Stop what `startup` started; safe to call twice (app.cli calls it after a crash)."""
    if "_engine" not in ctx:
        return
    if (supervisor := ctx.pop("supervisor", None)) is not None:
        await supervisor.close()
    if (reporter := ctx.pop("_reporter", None)) is not None:
        reporter.cancel()
        await asyncio.gather(reporter, return_exceptions=True)
    await ctx["http"].aclose()
    for sender in ctx.get("senders", {}).values():
        if isinstance(sender, SmtpSender):
            await sender.aclose()
    close_shared_parser()
    engine: AsyncEngine = ctx.pop("_engine")
    await engine.dispose()


class WorkerSettings:
    # send_outbound bounds its own tries; arq's limit only sits above them (see MAX_JOB_TRIES).
    functions = [
        func(send_outbound, max_tries=MAX_JOB_TRIES),
        # Its own tries, plus the one that waits out the visitor's grace period.
        func(email_offline_visitor, max_tries=MAX_EMAIL_TRIES + 2),
        func(send_outbound_batch, max_tries=MAX_JOB_TRIES),
        func(process_inbound, max_tries=3),
        outbox_jobs.prune_outbox,
        func(recompute_sla, max_tries=3, timeout=600),
    ]
    # arq types ctx as a plain dict; ours is the JobContext TypedDict.
    cron_jobs = [cron(outbox_jobs.prune_outbox, hour={3}, minute={17})]  # type: ignore[arg-type]
    on_startup = startup
    on_shutdown = shutdown
    job_timeout = 120
    max_tries = 5
    keep_result = 3600  # also how long a relayed job id is remembered
    # arq takes at most max_jobs per poll and polls every poll_delay seconds: its defaults
    # (10, 0.5 s) cap a worker at 20 jobs a second, and acknowledgements of a mail import
    # then finish minutes after it. Sends stay bounded per SMTP server (SmtpPool).
    max_jobs = 50
    poll_delay = 0.05


def create_worker(settings: Settings, *, clock: Clock = utc_now, **overrides: Any) -> LeasingWorker:
    """A worker for `settings`; signals are the caller's business (see app.cli)."""
    options: dict[str, Any] = {
        name: value for name, value in vars(WorkerSettings).items() if not name.startswith("_")
    }
    options.update(
        redis_settings=RedisSettings.from_dsn(settings.redis.url),
        ctx={"settings": settings, "clock": clock},
        handle_signals=False,
        **overrides,
    )
    return LeasingWorker(**options)
