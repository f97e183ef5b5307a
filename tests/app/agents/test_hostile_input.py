from __future__ import annotations

import pytest
from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories.agents import auth_headers, make_agent

HUGE = 2**70


@pytest.mark.parametrize(
    "path",
    [
        f"/api/v1/agents/{HUGE}",
        f"/api/v1/teams/{HUGE}",
        f"/api/v1/skills/{HUGE}",
        f"/api/v1/inboxes/{HUGE}",
        "/api/v1/agents/0",
    ],
)
async def test_ids_beyond_bigint_are_404(
    client: AsyncClient, db_session: AsyncSession, path: str
) -> None:
    headers = await auth_headers(db_session, await make_agent(db_session, role="admin"))

    shown = await client.get(path, headers=headers)
    changed = await client.patch(path, json={}, headers=headers)
    deleted = await client.delete(path, headers=headers)

    assert [shown.status_code, changed.status_code, deleted.status_code] == [404, 404, 404]


async def test_team_filter_beyond_bigint_is_422(
    client: AsyncClient, db_session: AsyncSession
) -> None:
    headers = await auth_headers(db_session, await make_agent(db_session))

    response = await client.get("/api/v1/agents", params={"team_id": HUGE}, headers=headers)

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "team_id"


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/api/v1/agents", {"email": "a\x00@example.test"}, "email"),
        ("/api/v1/agents", {"name": "A\x00"}, "name"),
        ("/api/v1/teams", {"name": "T\x00"}, "name"),
        ("/api/v1/teams", {"name": "T", "description": "\x00"}, "description"),
        ("/api/v1/skills", {"name": "s\x00"}, "name"),
        ("/api/v1/inboxes", {"name": "I\x00"}, "name"),
        ("/api/v1/inboxes", {"settings": {"host": "h\x00"}}, "settings.host"),
        ("/api/v1/inboxes", {"settings": {"smtp_password": "p\x00"}}, "settings.smtp_password"),
        ("/api/v1/inboxes", {"channel": "email\x00"}, "channel"),
    ],
)
async def test_nul_characters_are_422_naming_the_field(
    client: AsyncClient, db_session: AsyncSession, path: str, body: dict[str, object], field: str
) -> None:
    headers = await auth_headers(db_session, await make_agent(db_session, role="admin"))
    defaults: dict[str, dict[str, object]] = {
        "/api/v1/agents": {
            "email": "b@example.test",
            "name": "B",
            "role": "agent",
            "password": "x" * 12,
        },
        "/api/v1/teams": {"name": "T"},
        "/api/v1/skills": {"name": "s"},
        "/api/v1/inboxes": {"name": "I", "channel": "chat", "settings": {}},
    }

    response = await client.post(path, json=defaults[path] | body, headers=headers)

    assert response.status_code == 422, response.text
    assert field in [e["field"] for e in response.json()["errors"]]
