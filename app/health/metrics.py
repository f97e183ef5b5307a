"""Prometheus metrics at GET /metrics, from a registry owned by each app.

Labels are the HTTP method, the route *template* (`/api/v1/tickets/{ticket_id:int}`, never
the concrete path) and the status, so nothing about a ticket or a person reaches the
scrape. The endpoint needs no authentication: operators must keep it off the public
internet (serve it on an internal network or block `/metrics` at the load balancer).

Queue depth, outbox lag and dead letters are read at scrape time, not kept up to date in
the background.
"""

from __future__ import annotations

import asyncio
import time
from datetime import datetime
from typing import cast

from arq.constants import default_queue_name
from litestar import Response, get
from litestar.datastructures import State
from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, HTTPScope, Message, Receive, Scope, Send
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import generate_latest
from redis.asyncio import Redis
from sqlalchemy import func, select

from app.clock import Clock
from app.db.engine import SessionMaker
from app.outbox.dead_letters import count_dead_letters
from app.outbox.models import OutboxEvent
from app.supervisor import ComponentState, Supervisor, all_components

SCRAPE_TIMEOUT_SECONDS = 2.0
UNMATCHED_ROUTE = "<unmatched>"


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "relaydesk_http_requests",
            "HTTP requests by method, route template and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "relaydesk_http_request_duration_seconds",
            "Time to answer an HTTP request, by route template.",
            ["route"],
            registry=self.registry,
        )
        self.queue_depth = Gauge(
            "relaydesk_queue_depth",
            "Jobs waiting in the arq queue.",
            registry=self.registry,
        )
        self.outbox_pending = Gauge(
            "relaydesk_outbox_pending",
            "Outbox events not yet relayed to Redis.",
            registry=self.registry,
        )
        self.outbox_dead = Gauge(
            "relaydesk_outbox_dead_letters",
            "Outbox events the relay gave up on, waiting for an admin's retry.",
            registry=self.registry,
        )
        self.outbox_lag = Gauge(
            "relaydesk_outbox_lag_seconds",
            "Age of the oldest unrelayed outbox event (0 when none is pending).",
            registry=self.registry,
        )
        self.component_failing = Gauge(
            "relaydesk_component_failing",
            "1 while a supervised background task is failing in some process, else 0.",
            ["component"],
            registry=self.registry,
        )
        self.component_restarts = Gauge(
            "relaydesk_component_restarts",
            "Restarts of a supervised background task after a crash, summed over the live "
            "processes.",
            ["component"],
            registry=self.registry,
        )
        self.scrape_errors = Counter(
            "relaydesk_metrics_scrape_errors",
            "Scrape-time readings that failed, by source.",
            ["source"],
            registry=self.registry,
        )

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(route).observe(seconds)

    def set_components(self, components: list[ComponentState]) -> None:
        """The supervised tasks' gauges, from every process's report (a task that ended
        leaves the gauges)."""
        self.component_failing.clear()
        self.component_restarts.clear()
        restarts: dict[str, int] = {}
        failing: dict[str, bool] = {}
        for state in components:
            restarts[state.name] = restarts.get(state.name, 0) + state.restarts
            failing[state.name] = failing.get(state.name, False) or state.status == "failing"
        for name, count in restarts.items():
            self.component_restarts.labels(name).set(count)
            self.component_failing.labels(name).set(1 if failing[name] else 0)

    async def refresh(self, *, sessionmaker: SessionMaker, redis: Redis, now: datetime) -> None:
        """Read the queue and outbox gauges; a source that fails is counted, not raised."""

        async def outbox() -> None:
            async with sessionmaker() as session:
                pending, oldest = (
                    await session.execute(
                        select(func.count(), func.min(OutboxEvent.created_at)).where(
                            OutboxEvent.published_at.is_(None), OutboxEvent.dead_at.is_(None)
                        )
                    )
                ).one()
                dead = await count_dead_letters(session)
            self.outbox_pending.set(pending)
            self.outbox_dead.set(dead)
            self.outbox_lag.set(max(0.0, (now - oldest).total_seconds()) if oldest else 0.0)

        async def queue() -> None:
            self.queue_depth.set(await redis.zcard(default_queue_name))

        for source, probe in (("outbox", outbox), ("queue", queue)):
            try:
                async with asyncio.timeout(SCRAPE_TIMEOUT_SECONDS):
                    await probe()
            except Exception:  # the rest of the scrape is still worth having
                self.scrape_errors.labels(source).inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)


class MetricsMiddleware(ASGIMiddleware):
    """Counts and times every routed HTTP request (unrouted 404s never reach middleware)."""

    scopes = (ScopeType.HTTP,)

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        status = 500  # what the server answers if the handler raises past its exception handler
        started = time.perf_counter()

        async def send_and_record_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await next_app(scope, receive, send_and_record_status)
        finally:
            self.metrics.observe_request(
                cast("HTTPScope", scope)["method"],
                scope.get("path_template") or UNMATCHED_ROUTE,
                status,
                time.perf_counter() - started,
            )


@get("/metrics", tags=["health"], summary="Prometheus metrics", include_in_schema=False)
async def metrics_endpoint(state: State) -> Response[bytes]:
    metrics: Metrics = state.metrics
    clock: Clock = state.clock
    supervisor: Supervisor = state.supervisor
    await metrics.refresh(sessionmaker=state.sessionmaker, redis=state.redis, now=clock())
    metrics.set_components(
        await all_components(supervisor, state.redis, prefix=state.settings.redis.channel_prefix)
    )
    return Response(metrics.render(), media_type=CONTENT_TYPE_LATEST)
