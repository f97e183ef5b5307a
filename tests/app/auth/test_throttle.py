"""The login throttle: per account, per address (distinct accounts), atomic under load."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest
from httpx import AsyncClient, Response
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.throttle import address_key
from app.db.engine import SessionMaker
from tests.app.auth.conftest import ClientFactory
from tests.conftest import CHANNEL_PREFIX
from tests.factories.agents import PASSWORD, make_agent

WINDOW = 15 * 60


async def login(
    client: AsyncClient, email: str, password: str, forwarded_for: str | None = None
) -> Response:
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    return await client.post(
        "/api/v1/auth/login", json={"email": email, "password": password}, headers=headers
    )


@pytest.mark.committing
async def test_concurrent_guesses_are_counted_before_any_is_checked(
    committing_sessionmaker: SessionMaker, client_with: ClientFactory
) -> None:
    async with committing_sessionmaker() as session:
        target = await make_agent(session)
        neighbour = await make_agent(session)
        await session.commit()

    async with client_with(sessions=committing_sessionmaker) as client:
        answers = await asyncio.gather(
            *(login(client, target.email, f"guess {i}") for i in range(200))
        )
        statuses = Counter(a.status_code for a in answers)
        right_but_locked = await login(client, target.email, PASSWORD)
        neighbour_login = await login(client, neighbour.email, PASSWORD)

    # Only the five the limit allows reached the password check; every other one was refused.
    assert statuses == {401: 5, 429: 195}
    assert all(0 < int(a.headers["retry-after"]) <= WINDOW for a in answers if a.status_code == 429)
    assert right_but_locked.status_code == 429
    # The same address, another account: one brute-forced account locks only itself.
    assert neighbour_login.status_code == 200, neighbour_login.text


async def test_a_locked_account_says_when_to_retry_and_others_behind_it_still_sign_in(
    client: AsyncClient, db_session: AsyncSession
) -> None:
    target = await make_agent(db_session)
    neighbour = await make_agent(db_session)
    for _ in range(5):
        assert (await login(client, target.email, "wrong password")).status_code == 401

    locked = await login(client, target.email, PASSWORD)
    neighbour_login = await login(client, neighbour.email, PASSWORD)

    assert locked.status_code == 429
    assert locked.json()["code"] == "too_many_requests"
    assert 0 < int(locked.headers["retry-after"]) <= WINDOW
    assert neighbour_login.status_code == 200


async def test_spraying_many_accounts_from_one_address_locks_the_address(
    db_session: AsyncSession, client_with: ClientFactory
) -> None:
    agents = [await make_agent(db_session) for _ in range(3)]
    async with client_with(login_max_accounts_per_address=3) as client:
        # A typo followed by the right password is forgotten: it is not spraying.
        assert (await login(client, agents[0].email, "typo")).status_code == 401
        assert (await login(client, agents[0].email, PASSWORD)).status_code == 200
        for n in (1, 2):
            assert (await login(client, f"nobody{n}@example.test", "guess")).status_code == 401
        assert (await login(client, agents[1].email, PASSWORD)).status_code == 200
        assert (await login(client, "nobody3@example.test", "guess")).status_code == 401

        sprayed = await login(client, agents[2].email, PASSWORD)
        # An account already failing from here is judged by its own count.
        again = await login(client, "nobody1@example.test", "guess")

    assert sprayed.status_code == 429
    assert 0 < int(sprayed.headers["retry-after"]) <= WINDOW
    assert again.status_code == 401


async def test_x_forwarded_for_is_ignored_from_an_untrusted_peer(
    db_session: AsyncSession, client_with: ClientFactory
) -> None:
    agent = await make_agent(db_session)
    async with client_with(login_max_accounts_per_address=2) as client:
        for n in (1, 2):
            failed = await login(client, f"nobody{n}@example.test", "guess", f"198.51.100.{n}")
            assert failed.status_code == 401
        fresh_header = await login(client, agent.email, PASSWORD, "198.51.100.99")

    assert fresh_header.status_code == 429


async def test_behind_a_trusted_proxy_the_right_most_untrusted_address_counts(
    db_session: AsyncSession, client_with: ClientFactory
) -> None:
    agent = await make_agent(db_session)
    proxies = ("127.0.0.1/32", "10.0.0.0/8")
    async with client_with(trusted_proxies=proxies, login_max_accounts_per_address=2) as client:
        # The client made up the left-most entry; the load balancer appended what it saw.
        for n in (1, 2):
            chain = f"192.0.2.{n}, 203.0.113.7, 10.0.0.{n}"
            failed = await login(client, f"nobody{n}@example.test", "guess", chain)
            assert failed.status_code == 401
        same_client = await login(client, agent.email, PASSWORD, "192.0.2.50, 203.0.113.7")
        other_client = await login(client, agent.email, PASSWORD, "203.0.113.8, 10.0.0.1")

    assert same_client.status_code == 429
    assert other_client.status_code == 200, other_client.text


async def test_throttle_keys_carry_the_redis_prefix(
    client: AsyncClient, db_session: AsyncSession, redis: Redis, client_with: ClientFactory
) -> None:
    agent = await make_agent(db_session)
    for _ in range(5):
        assert (await login(client, agent.email, "wrong password")).status_code == 401

    # Only login keys: other processes on this Redis database (a worker's reports) are not
    # the throttle's.
    keys = [k.decode() for k in await redis.keys("*login:*")]
    assert keys
    assert all(k.startswith(f"{CHANNEL_PREFIX}:login:") for k in keys), keys
    assert (await login(client, agent.email, PASSWORD)).status_code == 429
    # Another install on the same Redis keeps its own count.
    async with client_with(redis_prefix=f"{CHANNEL_PREFIX}-other") as other_install:
        assert (await login(other_install, agent.email, PASSWORD)).status_code == 200


def test_ipv6_addresses_count_per_64_block() -> None:
    assert (
        address_key("2001:db8:1:2::1")
        == address_key("2001:db8:1:2:ffff::9")
        == ("2001:db8:1:2::/64")
    )
    assert address_key("2001:db8:1:3::1") != address_key("2001:db8:1:2::1")
    assert address_key("::ffff:192.0.2.1") == "192.0.2.1"
    assert address_key("192.0.2.1") == "192.0.2.1"
