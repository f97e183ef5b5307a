from __future__ import annotations

from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from channels.email.settings import read_email_settings
from tests.factories.agents import auth_headers, make_agent

SETTINGS = {
    "address": "Support@Shop.test",
    "imap_host": "127.0.0.1",
    "imap_port": 1143,
    "imap_security": "none",
    "imap_username": "support@shop.test",
    "imap_password": "imap-secret",
    "imap_folder": "INBOX",
    "smtp_host": "127.0.0.1",
    "smtp_port": 1025,
    "smtp_security": "none",
    "smtp_username": "support@shop.test",
    "smtp_password": "smtp-secret",
    "after_import": "move",
    "move_to_folder": "Imported",
}


async def test_email_inbox_is_created_with_passwords_hidden(
    client: AsyncClient, db_session: AsyncSession
) -> None:
    headers = await auth_headers(db_session, await make_agent(db_session, role="admin"))

    response = await client.post(
        "/api/v1/inboxes",
        json={"name": "Support", "channel": "email", "settings": SETTINGS},
        headers=headers,
    )

    assert response.status_code == 201, response.text
    body = response.json()
    assert "imap-secret" not in response.text
    assert "smtp-secret" not in response.text
    assert sorted(body["secret_keys"]) == ["imap_password", "smtp_password"]


async def test_bad_email_settings_name_every_field(
    client: AsyncClient, db_session: AsyncSession
) -> None:
    headers = await auth_headers(db_session, await make_agent(db_session, role="admin"))
    bad = {
        **SETTINGS,
        "imap_security": "tls",
        "smtp_port": 70000,
        "address": "nope",
        "move_to_folder": None,
    }
    del bad["imap_password"]

    response = await client.post(
        "/api/v1/inboxes",
        json={"name": "Support", "channel": "email", "settings": bad},
        headers=headers,
    )

    assert response.status_code == 422
    fields = {e["field"] for e in response.json()["errors"]}
    assert fields == {
        "settings.imap_security", "settings.smtp_port", "settings.address",
        "settings.move_to_folder", "settings.imap_password",
    }  # fmt: skip


def test_same_domain_participation_is_off_unless_asked_for() -> None:
    assert read_email_settings(SETTINGS).same_domain_participants is False
    on = read_email_settings({**SETTINGS, "same_domain_participants": True})
    assert on.same_domain_participants is True
