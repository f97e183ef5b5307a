"""The chat inbox's settings, the widget's public config and visitor sessions, over the
REST API: bad settings name their field, origins are checked, tokens continue a visitor,
identity claims count only with a valid HMAC, and a verified email is one contact with
that person's email tickets."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.agents.models import Agent
from app.attachments.storage import AttachmentStore
from app.chat.messages import do_visitor_message
from app.chat.models import ChatVisitor
from app.config import StorageSettings
from app.inboxes.models import Inbox
from app.tickets.models import Ticket
from channels.chat import identity_hmac
from tests.conftest import FrozenClock
from tests.factories.agents import auth_headers, make_agent

SHOP = "https://shop.example"
SECRET = "s" * 32


async def _admin(db_session: AsyncSession) -> dict[str, str]:
    return await auth_headers(db_session, await make_agent(db_session, role="admin"))


async def _inbox(client: AsyncClient, headers: dict[str, str], **settings: Any) -> dict[str, Any]:
    body = {"name": "Chat", "channel": "chat", "settings": {"allowed_origins": [SHOP], **settings}}
    response = await client.post("/api/v1/inboxes", json=body, headers=headers)
    assert response.status_code == 201, response.text
    inbox: dict[str, Any] = response.json()
    return inbox


async def _session(client: AsyncClient, key: str, **body: Any) -> dict[str, Any]:
    response = await client.post(
        "/api/v1/widget/sessions", json={"inbox": key, **body}, headers={"Origin": SHOP}
    )
    assert response.status_code == 200, response.text
    session: dict[str, Any] = response.json()
    return session


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"allowed_origins": None}, "settings.allowed_origins"),
        ({"allowed_origins": "https://shop.example"}, "settings.allowed_origins"),
        ({"allowed_origins": [SHOP, "https://x.example/path"]}, "settings.allowed_origins[1]"),
        ({"allowed_origins": ["ftp://x.example"]}, "settings.allowed_origins[0]"),
        ({"accent_color": "blue"}, "settings.accent_color"),
        ({"accent_text_color": "#12345"}, "settings.accent_text_color"),
        ({"greeting": ""}, "settings.greeting"),
        ({"greeting": "x" * 501}, "settings.greeting"),
        ({"locale": "English"}, "settings.locale"),
        (
            {"pre_chat_fields": [{"name": "Name!", "label": "Name"}]},
            "settings.pre_chat_fields[0].name",
        ),
        ({"pre_chat_fields": [{"name": "n", "type": "date"}]}, "settings.pre_chat_fields[0].type"),
        ({"pre_chat_fields": [{"name": "n"}, {"name": "n"}]}, "settings.pre_chat_fields"),
        ({"max_attachment_bytes": 0}, "settings.max_attachment_bytes"),
        ({"attachment_types": ["pictures"]}, "settings.attachment_types[0]"),
        ({"offline_text": 5}, "settings.offline_text"),
        ({"identity_secret": "short"}, "settings.identity_secret"),
        ({"colour": "#ffffff"}, "settings.colour"),
        ({"calendar_id": "office"}, "settings.calendar_id"),
        ({"calendar_id": 0}, "settings.calendar_id"),
        ({"calendar_id": 2**63}, "settings.calendar_id"),
        ({"calendar_id": 999_999_999}, "settings.calendar_id"),  # no such calendar
        ({"reply_email_inbox_id": True}, "settings.reply_email_inbox_id"),
        ({"reply_email_inbox_id": 999_999_999}, "settings.reply_email_inbox_id"),
        ({"email_after_seconds": 5}, "settings.email_after_seconds"),
    ],
)
async def test_bad_chat_settings_name_the_field(
    client: AsyncClient, db_session: AsyncSession, values: dict[str, Any], field: str
) -> None:
    headers = await _admin(db_session)
    settings = {"allowed_origins": [SHOP], **values}
    if settings["allowed_origins"] is None:
        del settings["allowed_origins"]
    body = {"name": "Chat", "channel": "chat", "settings": settings}

    response = await client.post("/api/v1/inboxes", json=body, headers=headers)

    assert response.status_code == 422, response.text
    assert field in [e["field"] for e in response.json()["errors"]]


async def test_widget_config_is_public_and_the_secret_stays_secret(
    client: AsyncClient, db_session: AsyncSession
) -> None:
    headers = await _admin(db_session)
    fields = [{"name": "email", "label": "Your email", "type": "email", "required": True}]
    inbox = await _inbox(
        client,
        headers,
        accent_color="#ff0000",
        greeting="Hallo!",
        locale="de",
        pre_chat_fields=fields,
        identity_secret=SECRET,
        attachment_types=["image/*"],
    )
    assert inbox["secret_keys"] == ["identity_secret"]
    assert "identity_secret" not in inbox["settings"]
    stored = await db_session.get(Inbox, inbox["id"])
    assert stored is not None
    assert SECRET.encode() not in (stored.secrets_encrypted or b"")

    response = await client.get(
        "/api/v1/widget/config", params={"inbox": inbox["public_key"]}, headers={"Origin": SHOP}
    )

    assert response.status_code == 200, response.text
    assert response.headers["access-control-allow-origin"] == SHOP
    config = response.json()
    assert SECRET not in response.text
    assert config["colors"]["accent"] == "#ff0000"
    assert (config["greeting"], config["locale"], config["online"]) == ("Hallo!", "de", False)
    assert config["pre_chat_fields"] == fields
    assert config["attachments"]["types"] == ["image/*"]
    assert config["identity_verification"] is True
    other = await client.get(
        "/api/v1/widget/config",
        params={"inbox": inbox["public_key"]},
        headers={"Origin": "https://evil.example"},
    )
    assert "access-control-allow-origin" not in other.headers
    missing = await client.get(
        "/api/v1/widget/config", params={"inbox": "nope"}, headers={"Origin": SHOP}
    )
    assert missing.status_code == 404
    # The widget on the page may read why (it warns and stays away), not a CORS failure.
    assert missing.headers["access-control-allow-origin"] == SHOP
    assert missing.json()["code"] == "inbox_not_found"


async def test_sessions_check_origin_pre_chat_and_continue_with_the_old_token(
    client: AsyncClient, db_session: AsyncSession
) -> None:
    headers = await _admin(db_session)
    fields = [
        {"name": "name", "label": "Name", "type": "text", "required": True},
        {"name": "email", "label": "Email", "type": "email"},
    ]
    inbox = await _inbox(client, headers, pre_chat_fields=fields)
    key = inbox["public_key"]

    evil = await client.post(
        "/api/v1/widget/sessions", json={"inbox": key}, headers={"Origin": "https://evil.example"}
    )
    assert evil.status_code == 403
    bad = await client.post(
        "/api/v1/widget/sessions",
        json={"inbox": key, "pre_chat": {"email": "nope", "shoe_size": "44"}},
        headers={"Origin": SHOP},
    )
    assert bad.status_code == 422
    assert bad.headers["access-control-allow-origin"] == SHOP  # the form shows each problem
    assert sorted(e["field"] for e in bad.json()["errors"]) == [
        "pre_chat.email", "pre_chat.name", "pre_chat.shoe_size",
    ]  # fmt: skip

    first = await _session(client, key, pre_chat={"name": "Ada", "email": "ada@example.com"})
    again = await _session(client, key, token=first["token"])
    forged = await _session(client, key, token=first["token"][:-4] + "0000")

    assert again["token"] == first["token"]
    assert forged["token"] != first["token"]
    visitor = await db_session.scalar(select(ChatVisitor).where(ChatVisitor.name == "Ada"))
    assert visitor is not None
    assert visitor.email == "ada@example.com"  # a claim, kept on the visitor only


async def test_identity_counts_only_with_a_valid_hmac_and_joins_the_email_contact(
    client: AsyncClient, db_session: AsyncSession, tmp_path: Path
) -> None:
    headers = await _admin(db_session)
    inbox = await _inbox(client, headers, identity_secret=SECRET)
    email_ticket = await client.post(
        "/api/v1/tickets",
        json={"subject": "Invoice", "body": "Wrong", "contact": {"email": "ada@example.com"}},
        headers=headers,
    )
    assert email_ticket.status_code == 201, email_ticket.text
    claims = {"user_id": "u-1", "email": "ada@example.com", "name": "Ada"}

    forged = await _session(client, inbox["public_key"], identity={**claims, "hmac": "00" * 32})
    assert forged["verified"] is False
    signed = {**claims, "hmac": identity_hmac(SECRET, "u-1")}
    verified = await _session(client, inbox["public_key"], identity=signed)
    assert verified["verified"] is True
    # The same signed-in user on another device is the same visitor.
    other_device = await _session(client, inbox["public_key"], identity=signed)
    assert other_device["token"] == verified["token"]

    store = AttachmentStore(StorageSettings(data_dir=tmp_path))
    visitors = {v.user_id: v for v in (await db_session.scalars(select(ChatVisitor))).all()}
    now = datetime.now(UTC)
    chat = await do_visitor_message(
        db_session, visitors["u-1"], client_id="c1", body="About my invoice", store=store, now=now
    )
    anonymous = await do_visitor_message(
        db_session, visitors[None], client_id="c1", body="ada@example.com, honest", store=store,
        now=now,
    )  # fmt: skip

    email_contact = email_ticket.json()["contact_id"]
    assert chat.ticket.contact_id == email_contact
    assert anonymous.ticket.contact_id != email_contact
    ticket = await db_session.get(Ticket, chat.ticket.id)
    assert ticket is not None
    assert (ticket.channel, ticket.inbox_id) == ("chat", inbox["id"])


async def test_an_email_to_reply_to_may_be_given_without_a_form(
    client: AsyncClient, db_session: AsyncSession
) -> None:
    """Offline, the widget asks where to reply, though the inbox has no pre-chat form."""
    inbox = await _inbox(client, await _admin(db_session))
    bad = await client.post(
        "/api/v1/widget/sessions",
        json={"inbox": inbox["public_key"], "pre_chat": {"email": "not-an-address"}},
        headers={"Origin": SHOP},
    )
    assert bad.status_code == 422
    assert [e["field"] for e in bad.json()["errors"]] == ["pre_chat.email"]
    await _session(
        client, inbox["public_key"], pre_chat={"name": "Grace", "email": "Grace@Example.com"}
    )
    visitor = await db_session.scalar(select(ChatVisitor).where(ChatVisitor.name == "Grace"))
    assert visitor is not None
    assert visitor.email == "grace@example.com"


async def test_the_browser_may_ask_before_posting_json(client: AsyncClient) -> None:
    """A JSON POST from another origin is preflighted; without this answer no browser
    would ever start a session."""
    response = await client.options(
        "/api/v1/widget/sessions",
        headers={
            "Origin": SHOP,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == SHOP
    assert "POST" in response.headers["access-control-allow-methods"]
    assert response.headers["access-control-allow-headers"].lower() == "content-type"


async def test_the_widget_is_offline_outside_the_inboxs_business_hours(
    client: AsyncClient, db_session: AsyncSession, clock: FrozenClock
) -> None:
    headers = await _admin(db_session)
    hours = {day: [["09:00", "17:00"]] for day in ("mon", "tue", "wed", "thu", "fri")}
    calendar = await client.post(
        "/api/v1/sla/calendars",
        json={"name": "Berlin office", "time_zone": "Europe/Berlin", "hours": hours},
        headers=headers,
    )
    assert calendar.status_code == 201, calendar.text
    inbox = await _inbox(client, headers, calendar_id=calendar.json()["id"])
    plain = await _inbox(client, headers)
    agent = await make_agent(db_session)
    agent.presence = "online"
    await db_session.flush()

    async def online(key: str) -> bool:
        response = await client.get("/api/v1/widget/config", params={"inbox": key})
        assert response.status_code == 200, response.text
        value: bool = response.json()["online"]
        return value

    clock.now = datetime(2026, 12, 7, 9, 30, tzinfo=UTC)  # Monday 10:30 in Berlin
    assert await online(inbox["public_key"]) is True
    clock.now = datetime(2026, 12, 7, 16, 0, tzinfo=UTC)  # 17:00 in Berlin: closed
    assert await online(inbox["public_key"]) is False
    assert await online(plain["public_key"]) is True  # no calendar: agents decide
    clock.now = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)  # Saturday
    assert await online(inbox["public_key"]) is False
    # Open hours but nobody online: offline all the same.
    await db_session.execute(update(Agent).values(presence="offline"))
    clock.now = datetime(2026, 12, 8, 10, 0, tzinfo=UTC)
    assert await online(inbox["public_key"]) is False

    # The setting can be removed again (null), and then only agents decide.
    cleared = await client.patch(
        f"/api/v1/inboxes/{inbox['id']}", json={"settings": {"calendar_id": None}}, headers=headers
    )
    assert cleared.status_code == 200, cleared.text
    assert "calendar_id" not in cleared.json()["settings"]
