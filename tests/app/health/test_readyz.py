"""/readyz names the component that is down to everyone (load balancers send no
credentials) and says why only to an admin: an exception's text names hosts and ports."""

from __future__ import annotations

from dataclasses import replace

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession

from app.assets import BuiltAssets
from app.config import SearchSettings, Settings
from app.db.engine import SessionMaker
from app.main import create_app
from tests.asgi import running
from tests.conftest import FrozenClock
from tests.factories.agents import auth_headers, make_agent
from tests.logs import captured_logs

# Nothing listens on the discard port: the search check fails to connect.
UNREACHABLE_SEARCH = "http://127.0.0.1:9"


async def test_readyz_names_the_failing_component_and_tells_only_admins_why(
    settings: Settings,
    sessionmaker: SessionMaker,
    redis: Redis,
    clock: FrozenClock,
    built_assets: BuiltAssets,
    db_session: AsyncSession,
) -> None:
    down = replace(settings, search=SearchSettings(meilisearch_url=UNREACHABLE_SEARCH))
    app = create_app(down, sessionmaker=sessionmaker, redis=redis, clock=clock, assets=built_assets)
    admin = await auth_headers(db_session, await make_agent(db_session, role="admin"))
    agent = await auth_headers(db_session, await make_agent(db_session, role="agent"))

    async with running(app) as client:
        with captured_logs() as logs:
            anonymous = await client.get("/readyz")
        as_agent = await client.get("/readyz", headers=agent)
        bad_token = await client.get("/readyz", headers={"Authorization": "Bearer nonsense"})
        as_admin = await client.get("/readyz", headers=admin)

    for response in (anonymous, as_agent, bad_token):
        assert response.status_code == 503
        assert response.json()["status"] == "unavailable"
        assert response.json()["checks"] == {
            "database": {"status": "ok"},
            "redis": {"status": "ok"},
            "search": {"status": "down"},
        }
        assert "ConnectError" not in response.text
    assert as_admin.status_code == 503
    assert as_admin.json()["checks"]["search"]["status"] == "down"
    assert as_admin.json()["checks"]["search"]["error"].startswith("ConnectError")
    # The operator finds the reason in the log whoever asked.
    assert any("search is down: ConnectError" in r.getMessage() for r in logs)
