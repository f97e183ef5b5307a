"""Two-factor sign-in: enrolling an authenticator app, signing in with its code or a
recovery code (each good once), and the admins' rule that staff must have one."""

from __future__ import annotations

from typing import Any

import pyotp
from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from app.agents.models import Agent
from tests.conftest import FrozenClock
from tests.factories.agents import PASSWORD, auth_headers, make_agent


async def sign_in(client: AsyncClient, agent: Agent, code: str | None = None) -> Any:
    body = {"email": agent.email, "password": PASSWORD} | ({"code": code} if code else {})
    return await client.post("/api/v1/auth/session", json=body)


def session_headers(response: Any) -> dict[str, str]:
    return {"X-CSRF-Token": response.json()["csrf_token"]}


async def enrol(
    client: AsyncClient, headers: dict[str, str], clock: FrozenClock
) -> tuple[str, list[str]]:
    started = await client.post("/api/v1/auth/two-factor/enrolment", headers=headers)
    assert started.status_code == 201, started.text
    enrolment = started.json()
    assert enrolment["qr_code"].startswith("data:image/svg+xml")
    assert enrolment["otpauth_uri"].startswith("otpauth://totp/Relaydesk:")
    secret = enrolment["secret"]
    wrong = await client.post(
        "/api/v1/auth/two-factor/confirm", json={"code": "000000"}, headers=headers
    )
    assert wrong.status_code == 422
    code = pyotp.TOTP(secret).at(clock.now)
    confirmed = await client.post(
        "/api/v1/auth/two-factor/confirm", json={"code": code}, headers=headers
    )
    assert confirmed.status_code == 200, confirmed.text
    codes: list[str] = confirmed.json()["recovery_codes"]
    assert len(codes) == 10
    return secret, codes


async def test_an_enrolled_agent_signs_in_with_a_code_each_good_once(
    client: AsyncClient, db_session: AsyncSession, clock: FrozenClock
) -> None:
    agent = await make_agent(db_session)
    secret, recovery = await enrol(client, await auth_headers(db_session, agent), clock)
    clock.advance(seconds=60)

    asked = await sign_in(client, agent)
    assert (asked.status_code, asked.json()["code"]) == (401, "two_factor_required")
    wrong = await sign_in(client, agent, "123456")
    assert (wrong.status_code, wrong.json()["code"]) == (401, "invalid_code")

    code = pyotp.TOTP(secret).at(clock.now)
    signed_in = await sign_in(client, agent, code)
    assert signed_in.status_code == 200, signed_in.text
    assert signed_in.json()["agent"]["two_factor_enabled"] is True
    # The same code again (a shoulder-surfer's replay) is refused, even within its window.
    assert (await sign_in(client, agent, code)).status_code == 401

    # A recovery code, with any spacing and case, once.
    assert (await sign_in(client, agent, f" {recovery[0].upper()} ")).status_code == 200
    assert (await sign_in(client, agent, recovery[0])).status_code == 401
    status = await client.get(
        "/api/v1/auth/two-factor", headers=await auth_headers(db_session, agent)
    )
    assert status.json() == {"enabled": True, "required": False, "recovery_codes_left": 9}


async def test_wrong_codes_count_against_the_sign_in_throttle(
    client: AsyncClient, db_session: AsyncSession, clock: FrozenClock
) -> None:
    agent = await make_agent(db_session)
    await enrol(client, await auth_headers(db_session, agent), clock)
    for _ in range(5):
        assert (await sign_in(client, agent, "111111")).status_code == 401
    assert (await sign_in(client, agent, "222222")).status_code == 429


async def test_staff_must_enrol_when_the_policy_says_so(
    client: AsyncClient, db_session: AsyncSession, clock: FrozenClock
) -> None:
    admin = await make_agent(db_session, role="admin")
    supervisor = await make_agent(db_session, role="supervisor")
    agent = await make_agent(db_session)
    as_admin = await auth_headers(db_session, admin)
    assert (
        await client.patch("/api/v1/settings/security", json={"require_two_factor_for_staff": True},
                           headers=await auth_headers(db_session, agent))
    ).status_code == 403  # fmt: skip
    policy = await client.patch(
        "/api/v1/settings/security", json={"require_two_factor_for_staff": True}, headers=as_admin
    )
    assert policy.json() == {"require_two_factor_for_staff": True}

    # The supervisor signs in, but can do nothing but enrol.
    session = await sign_in(client, supervisor)
    assert session.json()["agent"]["two_factor_setup_required"] is True
    headers = session_headers(session)
    refused = await client.get("/api/v1/tickets")
    assert (refused.status_code, refused.json()["code"]) == (403, "two_factor_setup_required")
    assert (await client.get("/api/v1/auth/me")).json()["two_factor_setup_required"] is True
    await enrol(client, headers, clock)
    assert (await client.get("/api/v1/tickets")).status_code == 200
    assert (await client.get("/api/v1/auth/me")).json()["two_factor_setup_required"] is False
    # Required for the role: it cannot be turned off, only reset by an admin.
    off = await client.post("/api/v1/auth/two-factor/disable", json={"code": "x"}, headers=headers)
    assert off.status_code == 403
    reset = await client.delete(f"/api/v1/agents/{supervisor.id}/two-factor", headers=as_admin)
    assert reset.status_code == 204

    # An agent is not staff, and an integration's personal token is not a sign-in.
    client.cookies.clear()
    assert (await sign_in(client, agent)).json()["agent"]["two_factor_setup_required"] is False
    client.cookies.clear()
    assert (await client.get("/api/v1/tickets", headers=as_admin)).status_code == 200


async def test_turning_it_off_takes_a_current_code(
    client: AsyncClient, db_session: AsyncSession, clock: FrozenClock
) -> None:
    agent = await make_agent(db_session)
    headers = await auth_headers(db_session, agent)
    secret, _ = await enrol(client, headers, clock)
    again = await client.post("/api/v1/auth/two-factor/enrolment", headers=headers)
    assert (again.status_code, again.json()["code"]) == (409, "enrolled")
    wrong = await client.post(
        "/api/v1/auth/two-factor/disable", json={"code": "999999"}, headers=headers
    )
    assert wrong.status_code == 422
    clock.advance(seconds=30)
    code = pyotp.TOTP(secret).at(clock.now)
    off = await client.post("/api/v1/auth/two-factor/disable", json={"code": code}, headers=headers)
    assert off.status_code == 204
    assert (await sign_in(client, agent)).status_code == 200
