"""Admins list the outbox's dead letters page by page, see them counted in /metrics, and
retry them."""

from __future__ import annotations

from datetime import timedelta

from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from app.outbox.models import MAX_ATTEMPTS, OutboxEvent
from tests.app.health.test_metrics import samples
from tests.conftest import FrozenClock
from tests.factories.agents import auth_headers, make_agent


async def test_admins_page_through_dead_letters_and_retry_one(
    client: AsyncClient, db_session: AsyncSession, clock: FrozenClock
) -> None:
    dead = [
        OutboxEvent(
            topic="message.created",
            payload={"message_id": n},
            attempts=MAX_ATTEMPTS,
            last_error=f"KeyError: {n}",
            dead_at=clock() - timedelta(minutes=n),
        )
        for n in range(3)
    ]
    waiting = OutboxEvent(topic="ticket.updated", payload={}, attempts=2, last_error="x")
    published = OutboxEvent(topic="ticket.updated", payload={}, published_at=clock())
    db_session.add_all([*dead, waiting, published])
    await db_session.flush()
    admin = await auth_headers(db_session, await make_agent(db_session, role="admin"))

    first = await client.get("/api/v1/outbox/dead-letters?limit=2", headers=admin)
    assert first.status_code == 200
    assert [i["id"] for i in first.json()["items"]] == [dead[2].id, dead[1].id]
    item = first.json()["items"][0]
    assert item["uuid"] == str(dead[2].uuid)
    assert item["payload"] == {"message_id": 2}
    assert item["attempts"] == MAX_ATTEMPTS
    assert item["last_error"] == "KeyError: 2"
    cursor = first.json()["next_cursor"]
    second = await client.get(f"/api/v1/outbox/dead-letters?limit=2&cursor={cursor}", headers=admin)
    assert [i["id"] for i in second.json()["items"]] == [dead[0].id]
    assert second.json()["next_cursor"] is None

    found = samples((await client.get("/metrics")).text)
    assert found[("relaydesk_outbox_dead_letters", frozenset())] == 3
    assert found[("relaydesk_outbox_pending", frozenset())] == 1  # dead letters are not pending

    retried = await client.post(f"/api/v1/outbox/dead-letters/{dead[1].id}/retry", headers=admin)

    assert retried.status_code == 200
    assert retried.json()["dead_at"] is None
    assert retried.json()["attempts"] == 0
    listed = (await client.get("/api/v1/outbox/dead-letters", headers=admin)).json()["items"]
    assert [i["id"] for i in listed] == [dead[2].id, dead[0].id]
    found = samples((await client.get("/metrics")).text)
    assert found[("relaydesk_outbox_dead_letters", frozenset())] == 2
    assert found[("relaydesk_outbox_pending", frozenset())] == 2


async def test_only_dead_letters_can_be_retried(
    client: AsyncClient, db_session: AsyncSession, clock: FrozenClock
) -> None:
    waiting = OutboxEvent(topic="ticket.updated", payload={})
    published = OutboxEvent(topic="ticket.updated", payload={}, published_at=clock())
    db_session.add_all([waiting, published])
    await db_session.flush()
    admin = await auth_headers(db_session, await make_agent(db_session, role="admin"))

    for event in (waiting, published):
        response = await client.post(f"/api/v1/outbox/dead-letters/{event.id}/retry", headers=admin)
        assert response.status_code == 409
        assert response.json()["code"] == "not_dead_lettered"
    missing = await client.post("/api/v1/outbox/dead-letters/999999/retry", headers=admin)
    assert missing.status_code == 404
