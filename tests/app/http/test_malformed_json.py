"""Malformed JSON is the client's error on every route, whatever breaks the decoder: a 400
problem, and no traceback in the log."""

from __future__ import annotations

import logging

import pytest
from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories.agents import auth_headers, make_agent
from tests.logs import captured_logs

MALFORMED = {
    # Found by probing: msgspec gives up past the interpreter's recursion limit.
    "nested_949_deep": b'{"email": ' + b"[" * 949 + b"]" * 949 + b', "password": "x"}',
    "nested_100000_deep": b"[" * 100_000,
    # Found by probing: invalid UTF-8 inside a string.
    "invalid_utf8": b'{"email": "\xff\xfe@example.test", "password": "x"}',
    "truncated_utf8": b'{"subject": "caf\xc3", "body": "x"}',
    "not_json": b"{'email': 1",
}


@pytest.mark.parametrize("body", MALFORMED.values(), ids=MALFORMED.keys())
async def test_malformed_json_is_a_400_problem_without_a_traceback(
    client: AsyncClient,
    db_session: AsyncSession,
    body: bytes,
) -> None:
    headers = await auth_headers(db_session, await make_agent(db_session))
    json_type = {"content-type": "application/json"}

    with captured_logs() as logs:
        responses = [
            await client.post("/api/v1/auth/login", content=body, headers=json_type),
            await client.post("/api/v1/tickets", content=body, headers=headers | json_type),
            await client.patch("/api/v1/agents/1", content=body, headers=headers | json_type),
        ]

    for response in responses:
        assert response.status_code == 400, (response.request.url, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["code"] == "bad_request"
    assert not [r for r in logs if r.levelno >= logging.ERROR or r.exc_info]
