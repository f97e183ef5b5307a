from __future__ import annotations

from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit.models import AuditLog
from app.errors import ValidationFailed
from app.inboxes.models import Inbox
from app.inboxes.service import SettingsValidator, inbox_secrets, is_secret_key
from app.security.crypto import SecretBox
from tests.conftest import SECRET_KEY
from tests.factories.agents import auth_headers, make_agent, make_team

PASSWORD = "imap-pa55word-plain"
EMAIL_INBOX = {
    "name": "Support mailbox",
    "channel": "email",
    "settings": {
        "imap_host": "imap.example.test",
        "imap_port": 993,
        "imap_ssl": True,
        "imap_password": PASSWORD,
        "smtp_api_key": "key-123",
    },
}


async def _admin_headers(db_session: AsyncSession) -> dict[str, str]:
    return await auth_headers(db_session, await make_agent(db_session, role="admin"))


async def _create(client: AsyncClient, headers: dict[str, str], **body: Any) -> dict[str, Any]:
    response = await client.post("/api/v1/inboxes", json=EMAIL_INBOX | body, headers=headers)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def _stored(db_session: AsyncSession, inbox_id: int) -> Inbox:
    inbox = await db_session.scalar(
        select(Inbox).where(Inbox.id == inbox_id).execution_options(populate_existing=True)
    )
    assert inbox is not None
    return inbox


def test_secret_key_rule() -> None:
    secret = ["imap_password", "bot_token", "app_secret", "secret", "access_token", "smtp_api_key"]
    plain = ["imap_host", "token_url", "secretary", "username", "port"]
    assert all(is_secret_key(k) for k in secret)
    assert not any(is_secret_key(k) for k in plain)


async def test_secrets_are_encrypted_and_never_returned(
    client: AsyncClient, db_session: AsyncSession
) -> None:
    headers = await _admin_headers(db_session)

    inbox = await _create(client, headers)

    assert inbox["settings"] == {
        "imap_host": "imap.example.test",
        "imap_port": 993,
        "imap_ssl": True,
    }
    assert inbox["secret_keys"] == ["imap_password", "smtp_api_key"]
    assert inbox["secrets_readable"] is True
    raw = (
        await db_session.execute(
            text("SELECT settings::text, secrets_encrypted FROM inboxes WHERE id = :id"),
            {"id": inbox["id"]},
        )
    ).one()
    assert PASSWORD not in raw[0]
    assert PASSWORD.encode() not in bytes(raw[1])
    shown = await client.get(f"/api/v1/inboxes/{inbox['id']}", headers=headers)
    listed = await client.get("/api/v1/inboxes", headers=headers)
    assert PASSWORD not in shown.text
    assert PASSWORD not in listed.text
    assert shown.json()["secret_keys"] == ["imap_password", "smtp_api_key"]
    stored = await _stored(db_session, inbox["id"])
    assert inbox_secrets(stored, SecretBox(SECRET_KEY)) == {
        "imap_password": PASSWORD,
        "smtp_api_key": "key-123",
    }
    audits = await db_session.scalars(select(AuditLog).where(AuditLog.entity_type == "inbox"))
    audit = audits.one()
    assert PASSWORD not in str(audit.after)
    assert audit.after["secret_keys"] == ["imap_password", "smtp_api_key"]


async def test_patch_keeps_replaces_and_removes_secrets(
    client: AsyncClient, db_session: AsyncSession
) -> None:
    headers = await _admin_headers(db_session)
    inbox = await _create(client, headers)
    box = SecretBox(SECRET_KEY)
    url = f"/api/v1/inboxes/{inbox['id']}"

    kept = await client.patch(url, json={"settings": {"imap_port": 143}}, headers=headers)
    assert kept.status_code == 200, kept.text
    assert kept.json()["settings"]["imap_port"] == 143
    assert kept.json()["secret_keys"] == ["imap_password", "smtp_api_key"]
    assert inbox_secrets(await _stored(db_session, inbox["id"]), box)["imap_password"] == PASSWORD

    replaced = await client.patch(
        url, json={"settings": {"imap_password": "new-pa55word"}}, headers=headers
    )
    assert replaced.status_code == 200, replaced.text
    secrets = inbox_secrets(await _stored(db_session, inbox["id"]), box)
    assert secrets == {"imap_password": "new-pa55word", "smtp_api_key": "key-123"}

    removed = await client.patch(
        url, json={"settings": {"smtp_api_key": None, "imap_ssl": None}}, headers=headers
    )
    assert removed.status_code == 200, removed.text
    assert removed.json()["secret_keys"] == ["imap_password"]
    assert "imap_ssl" not in removed.json()["settings"]
    assert inbox_secrets(await _stored(db_session, inbox["id"]), box) == {
        "imap_password": "new-pa55word"
    }

    cleared = await client.patch(url, json={"settings": {"imap_password": None}}, headers=headers)
    assert cleared.json()["secret_keys"] == []
    assert (await _stored(db_session, inbox["id"])).secrets_encrypted is None

    audits = await db_session.scalars(
        select(AuditLog.after)
        .where(AuditLog.entity_type == "inbox", AuditLog.action == "inbox.update")
        .order_by(AuditLog.id)
    )
    changes = [a.get("secrets_changed") for a in audits]
    assert changes == [None, ["imap_password"], ["smtp_api_key"], ["imap_password"]]
    assert "new-pa55word" not in str(changes)


async def test_patch_name_team_and_active(client: AsyncClient, db_session: AsyncSession) -> None:
    headers = await _admin_headers(db_session)
    team = await make_team(db_session)
    inbox = await _create(client, headers)

    response = await client.patch(
        f"/api/v1/inboxes/{inbox['id']}",
        json={"name": "Renamed", "team_id": team.id, "is_active": False},
        headers=headers,
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["name"], body["team_id"], body["is_active"]) == ("Renamed", team.id, False)
    assert body["secret_keys"] == ["imap_password", "smtp_api_key"]
    inactive = await client.get("/api/v1/inboxes", params={"is_active": "false"}, headers=headers)
    assert [i["id"] for i in inactive.json()["items"]] == [inbox["id"]]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"channel": "fax"}, "channel"),
        ({"settings": {"imap_port": {"nested": 1}}}, "settings.imap_port"),
        ({"settings": {"tags": ["a"]}}, "settings.tags"),
        ({"settings": {f"k{i}": i for i in range(65)}}, "settings"),
        ({"settings": {"bad key": 1}}, "settings"),
        ({"settings": "not an object"}, "settings"),
        ({"team_id": 999_999}, "team_id"),
        ({"name": ""}, "name"),
        ({"secrets": {}}, "secrets"),
    ],
)
async def test_invalid_inbox_names_the_field(
    client: AsyncClient, db_session: AsyncSession, body: dict[str, Any], field: str
) -> None:
    headers = await _admin_headers(db_session)

    response = await client.post("/api/v1/inboxes", json=EMAIL_INBOX | body, headers=headers)

    assert response.status_code == 422, response.text
    assert field in [e["field"] for e in response.json()["errors"]]


async def test_channel_cannot_change_and_unknown_fields_are_rejected(
    client: AsyncClient, db_session: AsyncSession
) -> None:
    headers = await _admin_headers(db_session)
    inbox = await _create(client, headers)

    response = await client.patch(
        f"/api/v1/inboxes/{inbox['id']}", json={"channel": "chat"}, headers=headers
    )

    assert response.status_code == 422
    assert response.json()["errors"] == [{"field": "channel", "message": "unknown field"}]


@pytest.fixture
def strict_email_validator(settings_validators: dict[str, SettingsValidator]) -> None:
    def validate(settings: dict[str, Any]) -> None:
        if "imap_password" not in settings:
            raise ValidationFailed.field("settings.imap_password", "is required")

    settings_validators["email"] = validate


@pytest.mark.usefixtures("strict_email_validator")
async def test_channel_validator_sees_secrets_and_runs_on_patch(
    client: AsyncClient, db_session: AsyncSession
) -> None:
    headers = await _admin_headers(db_session)
    inbox = await _create(client, headers)

    kept = await client.patch(
        f"/api/v1/inboxes/{inbox['id']}", json={"settings": {"imap_port": 1}}, headers=headers
    )
    removed = await client.patch(
        f"/api/v1/inboxes/{inbox['id']}",
        json={"settings": {"imap_password": None}},
        headers=headers,
    )

    assert kept.status_code == 200, kept.text
    assert removed.status_code == 422
    assert removed.json()["errors"][0]["field"] == "settings.imap_password"


async def test_undecryptable_secrets_are_flagged_not_fatal(
    client: AsyncClient, db_session: AsyncSession
) -> None:
    headers = await _admin_headers(db_session)
    inbox = await _create(client, headers)
    stored = await _stored(db_session, inbox["id"])
    stored.secrets_encrypted = SecretBox("another-key-" + "y" * 32).seal({"imap_password": "x"})
    await db_session.flush()

    shown = await client.get(f"/api/v1/inboxes/{inbox['id']}", headers=headers)
    fixed = await client.patch(
        f"/api/v1/inboxes/{inbox['id']}",
        json={"settings": {"imap_password": "again"}},
        headers=headers,
    )

    assert shown.status_code == 200
    assert shown.json()["secrets_readable"] is False
    assert fixed.json()["secret_keys"] == ["imap_password"]
    assert fixed.json()["secrets_readable"] is True


@pytest.mark.parametrize("role", ["supervisor", "agent"])
async def test_staff_read_but_only_admins_write_inboxes(
    client: AsyncClient, db_session: AsyncSession, role: str
) -> None:
    inbox = await _create(client, await _admin_headers(db_session))
    headers = await auth_headers(db_session, await make_agent(db_session, role=role))
    url = f"/api/v1/inboxes/{inbox['id']}"

    reads = [
        await client.get("/api/v1/inboxes", headers=headers),
        await client.get(url, headers=headers),
    ]
    writes = [
        await client.post("/api/v1/inboxes", json=EMAIL_INBOX, headers=headers),
        await client.patch(url, json={"name": "X"}, headers=headers),
        await client.delete(url, headers=headers),
    ]

    assert [r.status_code for r in reads] == [200, 200]
    assert PASSWORD not in reads[1].text
    assert [r.status_code for r in writes] == [403, 403, 403]


async def test_delete_inbox(client: AsyncClient, db_session: AsyncSession) -> None:
    headers = await _admin_headers(db_session)
    inbox = await _create(client, headers)

    deleted = await client.delete(f"/api/v1/inboxes/{inbox['id']}", headers=headers)

    assert deleted.status_code == 204
    assert (await client.get(f"/api/v1/inboxes/{inbox['id']}", headers=headers)).status_code == 404
    audit = await db_session.scalar(
        select(AuditLog).where(AuditLog.action == "inbox.delete", AuditLog.entity_id == inbox["id"])
    )
    assert audit is not None
    assert PASSWORD not in str(audit.before)


async def test_inbox_list_runs_a_constant_number_of_queries(
    client: AsyncClient, db_session: AsyncSession, statements: list[str]
) -> None:
    headers = await _admin_headers(db_session)

    async def queries_for_list(inboxes: int) -> int:
        for _ in range(inboxes):
            await _create(client, headers)
        statements.clear()
        response = await client.get("/api/v1/inboxes", headers=headers)
        assert response.status_code == 200
        return len(statements)

    await queries_for_list(0)
    assert await queries_for_list(2) == await queries_for_list(6)
