from __future__ import annotations

from datetime import timedelta

from httpx import AsyncClient
from prometheus_client.parser import text_string_to_metric_families
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession

from app.outbox.models import OutboxEvent
from tests.conftest import FrozenClock


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


async def test_metrics_count_requests_by_route_template(client: AsyncClient) -> None:
    for _ in range(3):
        assert (await client.get("/healthz")).status_code == 200
    assert (await client.get("/api/v1/auth/me")).status_code == 401

    response = await client.get("/metrics")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    found = samples(response.text)
    healthz = frozenset({("method", "GET"), ("route", "/healthz"), ("status", "200")})
    assert found[("relaydesk_http_requests_total", healthz)] == 3
    me = frozenset({("method", "GET"), ("route", "/api/v1/auth/me"), ("status", "401")})
    assert found[("relaydesk_http_requests_total", me)] == 1
    latency = frozenset({("route", "/healthz")})
    assert found[("relaydesk_http_request_duration_seconds_count", latency)] == 3


async def test_metrics_use_route_templates_not_paths(client: AsyncClient) -> None:
    await client.get("/api/v1/tickets/987654")

    text = (await client.get("/metrics")).text

    assert "987654" not in text


async def test_metrics_report_outbox_lag_and_queue_depth(
    client: AsyncClient, db_session: AsyncSession, redis: Redis, clock: FrozenClock
) -> None:
    db_session.add_all(
        [
            OutboxEvent(
                topic="ticket.updated", payload={}, created_at=clock() - timedelta(seconds=42)
            ),
            OutboxEvent(
                topic="ticket.updated", payload={}, created_at=clock() - timedelta(seconds=5)
            ),
            OutboxEvent(
                topic="ticket.updated",
                payload={},
                created_at=clock() - timedelta(hours=1),
                published_at=clock(),
            ),
        ]
    )
    await db_session.flush()
    await redis.zadd("arq:queue", {"job-a": 1, "job-b": 2})

    found = samples((await client.get("/metrics")).text)

    assert found[("relaydesk_outbox_pending", frozenset())] == 2
    assert found[("relaydesk_outbox_lag_seconds", frozenset())] == 42
    assert found[("relaydesk_queue_depth", frozenset())] == 2


async def test_outbox_lag_is_zero_when_nothing_is_pending(client: AsyncClient) -> None:
    found = samples((await client.get("/metrics")).text)

    assert found[("relaydesk_outbox_pending", frozenset())] == 0
    assert found[("relaydesk_outbox_lag_seconds", frozenset())] == 0
