"""Connecting a mailbox: the admin's connection test signs in to the real IMAP (dovecot)
and SMTP (aiosmtpd) servers and says which step failed and why, never with the password."""

from __future__ import annotations

from typing import Any

from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories.agents import auth_headers, make_agent
from tests.servers import free_port
from tests.servers.dovecot import Account
from tests.servers.smtp import SmtpServer

URL = "/api/v1/inboxes/connection-test"


def settings_for(mailbox: Account, smtp: SmtpServer, **changes: Any) -> dict[str, Any]:
    return {
        "address": "support@shop.test",
        "imap_host": mailbox.host,
        "imap_port": mailbox.port,
        "imap_security": "none",
        "imap_username": mailbox.address,
        "imap_password": mailbox.password,
        "smtp_host": smtp.host,
        "smtp_port": smtp.port,
        "smtp_security": "none",
        **changes,
    }


async def test_good_settings_pass_both_steps(
    client: AsyncClient, db_session: AsyncSession, mailbox: Account, smtp_server: SmtpServer
) -> None:
    headers = await auth_headers(db_session, await make_agent(db_session, role="admin"))
    body = {"channel": "email", "settings": settings_for(mailbox, smtp_server)}
    response = await client.post(URL, json=body, headers=headers)
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["ok"] is True
    assert [(c["step"], c["ok"]) for c in result["checks"]] == [("imap", True), ("smtp", True)]
    assert not smtp_server.messages  # nothing was sent


async def test_a_wrong_password_and_a_closed_port_are_named(
    client: AsyncClient, db_session: AsyncSession, mailbox: Account, smtp_server: SmtpServer
) -> None:
    headers = await auth_headers(db_session, await make_agent(db_session, role="admin"))
    wrong = settings_for(
        mailbox, smtp_server, imap_password="not-the-password", smtp_port=free_port()
    )
    response = await client.post(URL, json={"channel": "email", "settings": wrong}, headers=headers)
    assert response.status_code == 200, response.text
    imap, smtp = response.json()["checks"]
    assert imap["ok"] is False
    assert "login" in imap["detail"].lower() or "auth" in imap["detail"].lower(), imap
    assert smtp["ok"] is False
    assert f"{smtp_server.host}:{wrong['smtp_port']}" in smtp["detail"]
    assert "not-the-password" not in response.text


async def test_bad_input_is_a_422_naming_the_field_and_only_admins_may_test(
    client: AsyncClient, db_session: AsyncSession, mailbox: Account, smtp_server: SmtpServer
) -> None:
    admin = await auth_headers(db_session, await make_agent(db_session, role="admin"))
    agent = await auth_headers(db_session, await make_agent(db_session))
    body = {"channel": "email", "settings": settings_for(mailbox, smtp_server)}
    assert (await client.post(URL, json=body, headers=agent)).status_code == 403

    missing = {"channel": "email", "settings": {"address": "support@shop.test"}}
    response = await client.post(URL, json=missing, headers=admin)
    assert response.status_code == 422
    fields = {e["field"] for e in response.json()["errors"]}
    assert {"settings.imap_host", "settings.imap_password", "settings.smtp_host"} <= fields

    chat = await client.post(URL, json={"channel": "chat", "settings": {}}, headers=admin)
    assert chat.status_code == 422
    assert chat.json()["errors"][0]["field"] == "channel"
