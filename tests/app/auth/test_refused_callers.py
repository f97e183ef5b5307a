"""A refused caller (a wrong, revoked or read-only token) gives its database connection
back: Litestar does not finish the request's session when the `actor` dependency raises,
and each refusal used to keep one checked out until the garbage collector killed it,
sometimes under another request's query."""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy.ext.asyncio import AsyncEngine

from app.config import DatabaseSettings, Settings
from app.main import create_app
from tests.asgi import running


async def test_refused_callers_return_their_connections(
    settings: Settings, database_url: str
) -> None:
    app = create_app(replace(settings, database=DatabaseSettings(url=database_url, pool_size=2)))
    async with running(app) as client:
        engine: AsyncEngine = app.state.sessionmaker.kw["bind"]
        for n in range(10):
            response = await client.get(
                "/api/v1/auth/me", headers={"Authorization": f"Bearer nonsense-{n}"}
            )
            assert response.status_code == 401
        assert engine.pool.checkedout() == 0  # type: ignore[attr-defined]
