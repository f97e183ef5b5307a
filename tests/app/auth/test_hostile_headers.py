"""Whatever bytes arrive in the headers that carry credentials, the answer is a 4xx (or,
for a read with a valid session, a 2xx), never a 500."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from httpx import AsyncClient
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.deps import SESSION_COOKIE
from tests.app.auth.conftest import ClientFactory
from tests.factories.agents import PASSWORD, make_agent

HEADERS = (b"authorization", b"cookie", b"x-csrf-token", b"x-forwarded-for")


@pytest.fixture
async def proxied(client_with: ClientFactory) -> AsyncIterator[AsyncClient]:
    """The test client's peer is a trusted proxy, so X-Forwarded-For is parsed too."""
    async with client_with(trusted_proxies=("127.0.0.1/32",)) as client:
        yield client


@pytest.fixture
async def session_cookie(proxied: AsyncClient, db_session: AsyncSession) -> bytes:
    agent = await make_agent(db_session)
    response = await proxied.post(
        "/api/v1/auth/session", json={"email": agent.email, "password": PASSWORD}
    )
    assert response.status_code == 200, response.text
    proxied.cookies.clear()  # each example sends its own Cookie header
    return f"{SESSION_COOKIE}={response.cookies[SESSION_COOKIE]}".encode()


junk = st.binary(max_size=80)


@st.composite
def hostile_headers(draw: st.DrawFn, cookie: bytes) -> list[tuple[bytes, bytes]]:
    """Any subset of the headers with arbitrary bytes; the cookie may be a real session's,
    so the CSRF check is reached."""
    headers = [(name, draw(junk)) for name in HEADERS if draw(st.booleans())]
    if draw(st.booleans()):
        headers = [(n, v) for n, v in headers if n != b"cookie"]
        headers.append((b"cookie", cookie + draw(st.sampled_from([b"", b"; "])) + draw(junk)))
    return headers


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
@example(data=None)  # the case found by probing: a session cookie and a non-ASCII CSRF token
async def test_any_bytes_in_auth_headers_are_a_4xx_never_a_500(
    proxied: AsyncClient, session_cookie: bytes, data: st.DataObject | None
) -> None:
    if data is None:
        headers = [(b"cookie", session_cookie), (b"x-csrf-token", "é".encode("latin-1"))]
    else:
        headers = data.draw(hostile_headers(session_cookie))

    read = await proxied.get("/api/v1/auth/me", headers=headers)
    write = await proxied.post("/api/v1/auth/tokens", json={"name": "x"}, headers=headers)
    sign_in = await proxied.post(
        "/api/v1/auth/login", json={"email": "a@example.test", "password": "x"}, headers=headers
    )

    assert read.status_code in {200, 400, 401, 403}, read.text
    assert write.status_code in {400, 401, 403}, write.text
    assert sign_in.status_code in {400, 401, 429}, sign_in.text
