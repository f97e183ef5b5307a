"""The channel registry is the one list of channels: the schema and the API agree with it."""

from __future__ import annotations

import re
from typing import get_args

from httpx import AsyncClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.inboxes.channels import (
    CHANNEL_NAMES,
    IDENTITY_KINDS,
    INBOX_CHANNELS,
    REGISTRY,
    ChannelName,
    IdentityKindName,
    InboxChannelName,
)
from tests.factories.agents import auth_headers, make_agent


async def _allowed(session: AsyncSession, constraint: str) -> set[str]:
    definition = await session.scalar(
        text("SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = :name"),
        {"name": constraint},
    )
    assert definition, f"{constraint} is missing"
    return set(re.findall(r"'([a-z_]+)'", definition))


async def test_the_database_allows_exactly_the_registered_channels(
    db_session: AsyncSession,
) -> None:
    # A channel added to the registry needs a migration for these; this says which.
    assert await _allowed(db_session, "ck_tickets_channel") == set(CHANNEL_NAMES)
    assert await _allowed(db_session, "ck_inboxes_channel") == set(INBOX_CHANNELS)


def test_the_api_enums_are_the_registry() -> None:
    assert get_args(ChannelName) == CHANNEL_NAMES
    assert get_args(InboxChannelName) == INBOX_CHANNELS
    assert get_args(IdentityKindName) == IDENTITY_KINDS
    assert {"email", "chat", "whatsapp", "messenger", "instagram", "telegram", "api"} <= set(
        INBOX_CHANNELS
    )


def test_every_channel_says_where_replies_go() -> None:
    for spec in REGISTRY.values():
        assert spec.identity_kinds, spec.name
        assert set(spec.identity_kinds) <= set(IDENTITY_KINDS)


async def test_the_openapi_document_lists_the_channels(client: AsyncClient) -> None:
    schema = (await client.get("/schema/openapi.json")).json()
    rendered = str(schema)
    for name in CHANNEL_NAMES:
        assert f"'{name}'" in rendered


async def test_an_inbox_of_a_channel_without_inboxes_is_refused(
    client: AsyncClient, db_session: AsyncSession
) -> None:
    headers = await auth_headers(db_session, await make_agent(db_session, role="admin"))

    response = await client.post(
        "/api/v1/inboxes", json={"name": "Hand", "channel": "web", "settings": {}}, headers=headers
    )

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "channel"
