"""How the app serves the front ends: the console's shell and policy, hashed files cached
for good, the widget's stable URL, and a clear 503 when nothing was built."""

from __future__ import annotations

from pathlib import Path

import pytest
from httpx import AsyncClient
from redis.asyncio import Redis

from app.assets import IMMUTABLE, BuiltAssets
from app.config import Settings
from app.console.controller import content_security_policy
from app.db.engine import SessionMaker
from app.main import create_app
from tests.asgi import running
from tests.factories.assets import CONSOLE_SCRIPT, SHELL, WIDGET_BUNDLE


def directives(policy: str) -> dict[str, list[str]]:
    parsed = {}
    for part in policy.split(";"):
        name, *sources = part.split()
        parsed[name] = sources
    return parsed


async def test_the_root_sends_a_browser_to_the_console(client: AsyncClient) -> None:
    response = await client.get("/")
    assert response.status_code == 302
    assert response.headers["location"] == "/console"


@pytest.mark.parametrize("path", ["/console", "/console/", "/console/tickets/42", "/console/a/b/c"])
async def test_every_console_route_answers_the_shell_uncached(
    client: AsyncClient, path: str
) -> None:
    response = await client.get(path)
    assert response.status_code == 200
    assert response.text == SHELL
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.headers["cache-control"] == "no-cache"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["x-content-type-options"] == "nosniff"


async def test_the_shell_policy_allows_this_origin_only(client: AsyncClient) -> None:
    policy = (await client.get("/console")).headers["content-security-policy"]
    found = directives(policy)
    assert found["default-src"] == ["'self'"]
    assert found["script-src"] == ["'self'"]
    assert found["style-src"] == ["'self'"]
    assert found["img-src"] == ["'self'", "data:"]
    assert found["connect-src"] == ["'self'", "ws://testserver", "wss://testserver"]
    assert found["frame-ancestors"] == ["'none'"]
    assert found["object-src"] == ["'none'"]
    assert found["base-uri"] == ["'none'"]
    assert "unsafe" not in policy


@pytest.mark.parametrize(
    "host", ["evil.test; script-src *", "a b", "x.test/path", "", "e.test:99999999", None]
)
def test_a_strange_host_cannot_widen_the_policy(host: str | None) -> None:
    found = directives(content_security_policy(host))
    assert found["connect-src"] == ["'self'"]
    assert found["script-src"] == ["'self'"]


async def test_a_host_header_the_server_refuses_gets_no_shell(client: AsyncClient) -> None:
    response = await client.get("/console", headers={"host": "evil.test; script-src *"})
    assert response.status_code == 400
    assert "content-security-policy" not in response.headers


async def test_a_host_with_a_port_gets_its_websockets(client: AsyncClient) -> None:
    response = await client.get("/console", headers={"host": "desk.example.test:8443"})
    found = directives(response.headers["content-security-policy"])
    assert found["connect-src"] == [
        "'self'",
        "ws://desk.example.test:8443",
        "wss://desk.example.test:8443",
    ]


async def test_a_console_asset_is_cached_for_a_year(client: AsyncClient) -> None:
    response = await client.get(f"/console/assets/{CONSOLE_SCRIPT}")
    assert response.status_code == 200
    assert response.text == 'console.log("console")\n'
    assert response.headers["cache-control"] == IMMUTABLE
    assert response.headers["content-type"].startswith("text/javascript")
    assert response.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize(
    "path",
    [
        "/console/assets/index-missing.js",
        "/console/assets/..%2Findex.html",
        "/console/assets/%2E%2E",
        "/console/assets/sub/file.js",
        "/console/assets/.hidden",
    ],
)
async def test_a_missing_or_odd_asset_is_a_404_never_the_shell(
    client: AsyncClient, path: str
) -> None:
    response = await client.get(path)
    assert response.status_code == 404
    assert "<html" not in response.text
    assert "cache-control" not in response.headers or IMMUTABLE not in response.headers.get(
        "cache-control", ""
    )


async def test_widget_js_points_at_the_hashed_bundle(client: AsyncClient) -> None:
    response = await client.get("/widget.js")
    assert response.status_code == 302
    assert response.headers["location"] == f"/widget/{WIDGET_BUNDLE}"
    assert response.headers["cache-control"] == "no-cache"

    bundle = await client.get(response.headers["location"])
    assert bundle.status_code == 200
    assert bundle.text == 'console.log("widget")\n'
    assert bundle.headers["cache-control"] == IMMUTABLE
    assert bundle.headers["content-type"].startswith("text/javascript")
    assert bundle.headers["cross-origin-resource-policy"] == "cross-origin"


@pytest.mark.parametrize("name", ["manifest.json", ".vite", "widget-missing.js"])
async def test_only_the_widgets_built_files_are_served(client: AsyncClient, name: str) -> None:
    assert (await client.get(f"/widget/{name}")).status_code == 404


async def test_the_front_end_routes_are_not_in_the_api_document(client: AsyncClient) -> None:
    paths = (await client.get("/schema/openapi.json")).json()["paths"]
    assert not [p for p in paths if p == "/" or p.startswith(("/console", "/widget"))]


@pytest.fixture
async def unbuilt_client(
    tmp_path: Path, settings: Settings, sessionmaker: SessionMaker, redis: Redis
) -> AsyncClient:
    nothing = BuiltAssets(console=tmp_path / "no-console", widget=tmp_path / "no-widget")
    app = create_app(settings, sessionmaker=sessionmaker, redis=redis, assets=nothing)
    async with running(app) as client:
        yield client  # type: ignore[misc]


@pytest.mark.parametrize("path", ["/console", "/console/tickets/1", "/widget.js"])
async def test_without_a_build_the_answer_says_how_to_build(
    unbuilt_client: AsyncClient, path: str
) -> None:
    response = await unbuilt_client.get(path)
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["code"] == "frontend_not_built"
    assert "make run" in problem["detail"]
    assert "npm run build" in problem["detail"]


async def test_without_a_build_an_asset_is_simply_missing(unbuilt_client: AsyncClient) -> None:
    assert (await unbuilt_client.get(f"/console/assets/{CONSOLE_SCRIPT}")).status_code == 404
    assert (await unbuilt_client.get(f"/widget/{WIDGET_BUNDLE}")).status_code == 404


@pytest.mark.parametrize(
    "manifest",
    ['{"a": {"file": "x.js"}}', '{"a": {"fi', "[]", '{"a": 1}', '{"a": {"isEntry": true}}'],
)
async def test_a_broken_widget_manifest_is_a_503_not_a_500(
    client: AsyncClient, built_assets: BuiltAssets, manifest: str
) -> None:
    (built_assets.widget / ".vite" / "manifest.json").write_text(manifest)
    response = await client.get("/widget.js")
    assert response.status_code == 503
    assert response.json()["code"] == "frontend_not_built"
