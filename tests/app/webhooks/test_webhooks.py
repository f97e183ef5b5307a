"""Webhook deliveries: verified, stored raw, answered, then processed by a job."""

from __future__ import annotations

from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.attachments.storage import AttachmentStore
from app.config import Settings
from app.db.engine import SessionMaker
from app.inbound.jobs import process_inbound
from app.inbound.models import InboundItem
from app.inbound.service import INBOUND_PENDING
from app.ingest.receive import KEPT_ASIDE
from app.messages.models import Message
from app.outbox.jobs import jobs_for
from app.outbox.models import OutboxEvent
from app.security.crypto import SecretBox
from app.tickets.models import Ticket
from tests.app.webhooks.fake_adapter import SECRET_HEADER, FakeTelegram, update
from tests.conftest import FrozenClock
from tests.factories.agents import auth_headers, make_agent

SECRET = "s3cret-token"


@pytest.fixture
async def admin_headers(db_session: AsyncSession) -> dict[str, str]:
    return await auth_headers(db_session, await make_agent(db_session, role="admin"))


async def _inbox(client: AsyncClient, headers: dict[str, str], **settings: Any) -> dict[str, Any]:
    response = await client.post(
        "/api/v1/inboxes",
        json={
            "name": "Bot",
            "channel": "telegram",
            "settings": {"webhook_secret": SECRET, "verify_token": "vt", **settings},
        },
        headers=headers,
    )
    assert response.status_code == 201, response.text
    inbox: dict[str, Any] = response.json()
    assert "webhook_secret" in inbox["secret_keys"]
    return inbox


def _ctx(
    sessionmaker: SessionMaker, settings: Settings, clock: FrozenClock, adapter: FakeTelegram
) -> dict[str, Any]:
    return {
        "sessionmaker": sessionmaker,
        "clock": clock,
        "secret_box": SecretBox(settings.security.secret_key),
        "attachment_store": AttachmentStore(settings.storage),
        "webhook_adapters": {"telegram": adapter},
    }


async def _deliver(
    client: AsyncClient, inbox: dict[str, Any], body: bytes, *, secret: str = SECRET
) -> int:
    response = await client.post(
        f"/webhooks/telegram/{inbox['public_key']}",
        content=body,
        headers={SECRET_HEADER: secret, "content-type": "application/json"},
    )
    return response.status_code


async def _items(session: AsyncSession) -> list[InboundItem]:
    return list((await session.scalars(select(InboundItem).order_by(InboundItem.id))).all())


async def test_a_verified_delivery_is_stored_raw_then_processed_into_a_ticket(
    client: AsyncClient,
    db_session: AsyncSession,
    admin_headers: dict[str, str],
    sessionmaker: SessionMaker,
    settings: Settings,
    clock: FrozenClock,
    adapter: FakeTelegram,
) -> None:
    inbox = await _inbox(client, admin_headers)
    body = update(1, "My order never came")

    assert await _deliver(client, inbox, body) == 200

    (item,) = await _items(db_session)
    assert (item.status, item.channel, item.delivery_key) == ("pending", "telegram", "update:1")
    event = await db_session.scalar(select(OutboxEvent).where(OutboxEvent.topic == INBOUND_PENDING))
    assert event is not None
    assert jobs_for(event.topic, event.payload) == [("process_inbound", {"item_id": item.id})]

    status = await process_inbound(_ctx(sessionmaker, settings, clock, adapter), item_id=item.id)

    assert status == "imported"
    await db_session.refresh(item)
    message = await db_session.get(Message, item.message_id)
    assert message is not None
    assert message.body_text == "My order never came"
    ticket = await db_session.get(Ticket, message.ticket_id)
    assert ticket is not None
    assert ticket.channel == "telegram"
    raw = await client.get(
        f"/api/v1/inboxes/{inbox['id']}/inbound/{item.id}/raw", headers=admin_headers
    )
    assert raw.content == body
    assert raw.headers["content-type"].startswith("application/json")
    # Processing again (a relay retry) changes nothing.
    assert await process_inbound(_ctx(sessionmaker, settings, clock, adapter), item_id=item.id) == (
        "skipped"
    )


async def test_a_bad_signature_is_refused_before_anything_reads_the_body(
    client: AsyncClient,
    db_session: AsyncSession,
    admin_headers: dict[str, str],
    adapter: FakeTelegram,
) -> None:
    inbox = await _inbox(client, admin_headers)

    assert await _deliver(client, inbox, update(1), secret="guess") == 401
    assert await _deliver(client, inbox, b"{not json", secret="") == 401

    assert await _items(db_session) == []
    assert adapter.read_bodies == []


async def test_a_redelivery_is_stored_once(
    client: AsyncClient, db_session: AsyncSession, admin_headers: dict[str, str]
) -> None:
    inbox = await _inbox(client, admin_headers)

    for _ in range(3):
        assert await _deliver(client, inbox, update(7)) == 200

    assert len(await _items(db_session)) == 1


async def test_nothing_answers_for_an_unknown_channel_key_or_an_inactive_inbox(
    client: AsyncClient, db_session: AsyncSession, admin_headers: dict[str, str]
) -> None:
    inbox = await _inbox(client, admin_headers)
    email = await client.post(
        "/api/v1/inboxes",
        json={"name": "Mail", "channel": "api", "settings": {}},
        headers=admin_headers,
    )
    paths = [
        f"/webhooks/fax/{inbox['public_key']}",
        "/webhooks/telegram/not-a-key",
        f"/webhooks/telegram/{'x' * 500}",
        f"/webhooks/telegram/{email.json()['public_key']}",
    ]
    for path in paths:
        response = await client.post(path, content=update(1), headers={SECRET_HEADER: SECRET})
        assert response.status_code == 404, path
    await client.patch(
        f"/api/v1/inboxes/{inbox['id']}", json={"is_active": False}, headers=admin_headers
    )
    assert await _deliver(client, inbox, update(1)) == 404
    assert await _items(db_session) == []


async def test_the_subscription_handshake_is_the_adapters(
    client: AsyncClient, admin_headers: dict[str, str]
) -> None:
    inbox = await _inbox(client, admin_headers)
    path = f"/webhooks/telegram/{inbox['public_key']}"

    ok = await client.get(path, params={"verify_token": "vt", "challenge": "1234"})
    wrong = await client.get(path, params={"verify_token": "nope", "challenge": "1234"})

    assert (ok.status_code, ok.text) == (200, "1234")
    assert wrong.status_code == 403


async def test_an_auto_reply_to_no_conversation_is_kept_aside_on_any_channel(
    client: AsyncClient,
    db_session: AsyncSession,
    admin_headers: dict[str, str],
    sessionmaker: SessionMaker,
    settings: Settings,
    clock: FrozenClock,
    adapter: FakeTelegram,
) -> None:
    inbox = await _inbox(client, admin_headers)
    await _deliver(client, inbox, update(3, "I am away until Monday", auto_reply=True))
    (item,) = await _items(db_session)

    status = await process_inbound(_ctx(sessionmaker, settings, clock, adapter), item_id=item.id)

    assert status == "ignored"
    await db_session.refresh(item)
    assert item.error == KEPT_ASIDE
    assert await db_session.scalar(select(func.count()).select_from(Ticket)) == 0


async def test_a_payload_that_cannot_be_read_fails_visibly_and_can_be_retried(
    client: AsyncClient,
    db_session: AsyncSession,
    admin_headers: dict[str, str],
    sessionmaker: SessionMaker,
    settings: Settings,
    clock: FrozenClock,
    adapter: FakeTelegram,
) -> None:
    inbox = await _inbox(client, admin_headers)
    await _deliver(client, inbox, b'{"update_id": 9, "poll": {}}')
    (item,) = await _items(db_session)

    status = await process_inbound(_ctx(sessionmaker, settings, clock, adapter), item_id=item.id)

    assert status == "failed"
    listed = (
        await client.get(
            f"/api/v1/inboxes/{inbox['id']}/inbound",
            params={"status": "failed"},
            headers=admin_headers,
        )
    ).json()
    assert [i["id"] for i in listed["items"]] == [item.id]
    assert "KeyError" in listed["items"][0]["reason"]
    retried = await client.post(
        f"/api/v1/inboxes/{inbox['id']}/inbound/{item.id}/retry", headers=admin_headers
    )
    assert retried.status_code == 200, retried.text
    assert (retried.json()["status"], retried.json()["attempts"]) == ("pending", 1)
    events = (
        await db_session.scalars(
            select(OutboxEvent.payload).where(OutboxEvent.topic == INBOUND_PENDING)
        )
    ).all()
    assert events == [{"item_id": item.id}, {"item_id": item.id}]  # stored, then retried
    again = await client.post(
        f"/api/v1/inboxes/{inbox['id']}/inbound/{item.id}/retry", headers=admin_headers
    )
    assert again.status_code == 422


async def test_the_sender_rate_limit_holds_back_a_flood_on_any_channel(
    client: AsyncClient,
    db_session: AsyncSession,
    admin_headers: dict[str, str],
    sessionmaker: SessionMaker,
    settings: Settings,
    clock: FrozenClock,
    adapter: FakeTelegram,
) -> None:
    inbox = await _inbox(client, admin_headers, rate_limit=2)
    for n in range(1, 4):
        await _deliver(client, inbox, update(n, f"message {n}"))
    statuses = [
        await process_inbound(_ctx(sessionmaker, settings, clock, adapter), item_id=item.id)
        for item in await _items(db_session)
    ]

    assert statuses == ["imported", "imported", "rate_limited"]
