"""Request bodies are limited per route before they are read: uploads by the attachment
limit, every other body (JSON) by RELAYDESK_MAX_REQUEST_BODY_BYTES (1 MiB by default)."""

from __future__ import annotations

import json
from typing import Any

from litestar import Litestar
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import HttpSettings
from tests.app.http.conftest import AppFactory, ClientFactory
from tests.asgi import running
from tests.factories.agents import auth_headers, make_agent

MiB = 1024 * 1024
CHUNK = 64 * 1024


def _ticket(body_bytes: int) -> dict[str, Any]:
    return {"subject": "Big", "body": "a" * body_bytes, "contact": {"email": "c@customer.test"}}


async def test_a_json_body_over_the_limit_is_413_on_every_route_but_uploads(
    client_with: ClientFactory, db_session: AsyncSession
) -> None:
    assert HttpSettings().max_request_body_bytes == MiB
    headers = await auth_headers(db_session, await make_agent(db_session))
    # Uploads may be 4 MiB (plus the multipart framing): a 3 MiB JSON body is still refused.
    async with client_with(storage={"max_attachment_bytes": 4 * MiB}) as client:
        for path, auth in (("/api/v1/tickets", headers), ("/api/v1/auth/login", {})):
            response = await client.post(path, json=_ticket(3 * MiB), headers=auth)

            assert response.status_code == 413, (path, response.text[:300])
            assert response.headers["content-type"].startswith("application/problem+json")
            assert response.json()["code"] == "request_too_large"

        # Just under the limit the body is read, and judged by the schema (its own limit).
        under = await client.post("/api/v1/tickets", json=_ticket(MiB - 1000), headers=headers)
        assert under.status_code == 422, under.text[:300]
        assert under.json()["errors"][0]["field"] == "body"

        upload = await client.post(
            "/api/v1/attachments",
            files={"file": ("big.bin", b"x" * 3 * MiB, "application/octet-stream")},
            headers=headers,
        )
        assert upload.status_code == 201, upload.text[:300]
        too_big = await client.post(
            "/api/v1/attachments",
            files={"file": ("huge.bin", b"x" * 6 * MiB, "application/octet-stream")},
            headers=headers,
        )
        assert too_big.status_code == 413, too_big.text[:300]


async def _post(
    app: Litestar, path: str, headers: list[tuple[bytes, bytes]], total: int
) -> tuple[int, dict[str, Any], int]:
    """POST `total` bytes in 64 KiB chunks straight to the ASGI app; returns the status,
    the body and how many bytes the app pulled from the client."""
    pulled = 0
    messages: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        nonlocal pulled
        size = min(CHUNK, total - pulled)
        pulled += size
        return {"type": "http.request", "body": b"[" * size, "more_body": pulled < total}

    async def send(message: dict[str, Any]) -> None:
        messages.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"testserver"), (b"content-type", b"application/json"), *headers],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
        "state": {},
    }
    await app(scope, receive, send)  # type: ignore[arg-type]
    start = next(m for m in messages if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")
    return start["status"], json.loads(body), pulled


async def test_the_limit_is_checked_before_the_body_is_read(app_with: AppFactory) -> None:
    app = app_with(storage={"max_attachment_bytes": 4 * MiB})
    async with running(app):
        # A Content-Length over the limit is refused before a byte of the body is read.
        announced = [(b"content-length", str(3 * MiB).encode())]
        status, problem, pulled = await _post(app, "/api/v1/auth/login", announced, 3 * MiB)
        assert (status, problem["code"], pulled) == (413, "request_too_large", 0)

        # A body streamed without one is refused as soon as it passes the limit.
        status, problem, pulled = await _post(app, "/api/v1/auth/login", [], 3 * MiB)
        assert (status, problem["code"]) == (413, "request_too_large")
        assert MiB < pulled <= MiB + CHUNK
