"""The `relaydesk` command, run for real in a subprocess with a bounded time."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import asyncpg
import httpx
import pytest
from redis.asyncio import Redis
from sqlalchemy import func, select

from app.agents.models import Agent
from app.config import SecuritySettings, Settings
from app.db.engine import SessionMaker, transaction
from app.main import create_app
from app.outbox.models import OutboxEvent
from app.outbox.service import TICKET_UPDATED, emit
from app.seed import DEMO_ADMIN_EMAIL
from app.startup import head_revisions
from app.tickets.models import Ticket
from tests.app.outbox.conftest import free_port
from tests.asgi import running
from tests.conftest import RELAYDESK, SECRET_KEY
from tests.db import SERVER_DSN, async_url, drop_database

COMMAND_TIMEOUT = 60


def relaydesk(
    *args: str, env: dict[str, str], stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(RELAYDESK), *args],
        env=env,
        input=stdin if stdin is not None else "",
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT,
        check=False,
    )


@contextmanager
def started(*args: str, env: dict[str, str]) -> Iterator[subprocess.Popen[str]]:
    process = subprocess.Popen(
        [str(RELAYDESK), *args],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
                raise


def wait_for_http(
    url: str, process: subprocess.Popen[str], *, within: float = 20
) -> httpx.Response:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if process.poll() is not None:
            output = process.stdout.read() if process.stdout else ""
            pytest.fail(f"server exited with {process.returncode}:\n{output}")
        try:
            return httpx.get(url, timeout=1)
        except httpx.TransportError:
            time.sleep(0.2)
    pytest.fail(f"{url} did not answer within {within}s")


def assert_one_line_error(result: subprocess.CompletedProcess[str], starts: str) -> None:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"error: {starts}"), lines[0]


async def test_migrate_creates_and_migrates_a_fresh_database(relaydesk_env: dict[str, str]) -> None:
    name = f"relaydesk_test_cli_{uuid.uuid4().hex[:8]}"
    try:
        result = relaydesk("migrate", env={**relaydesk_env, "DATABASE_URL": async_url(name)})

        assert result.returncode == 0, result.stderr
        assert f"created database {name}" in result.stdout
        assert "migrated to" in result.stdout
        conn = await asyncpg.connect(f"{SERVER_DSN}/{name}")
        try:
            versions = {r["version_num"] for r in await conn.fetch("SELECT * FROM alembic_version")}
        finally:
            await conn.close()
        assert versions == set(head_revisions(async_url(name)))

        again = relaydesk("migrate", env={**relaydesk_env, "DATABASE_URL": async_url(name)})
        assert again.returncode == 0, again.stderr
        assert "schema is up to date" in again.stdout
    finally:
        await drop_database(name)


@pytest.mark.committing
async def test_create_admin_reads_the_password_from_stdin_and_the_admin_can_log_in(
    relaydesk_env: dict[str, str], committing_sessionmaker: SessionMaker, redis: Redis
) -> None:
    result = relaydesk(
        "create-admin",
        "Root@Example.test",
        "--name",
        "Root",
        env=relaydesk_env,
        stdin="a long passphrase\n",
    )

    assert result.returncode == 0, result.stderr
    assert "created admin root@example.test" in result.stdout
    async with committing_sessionmaker() as session:
        agent = await session.scalar(select(Agent).where(Agent.email == "root@example.test"))
    assert agent is not None
    assert (agent.role, agent.name) == ("admin", "Root")
    settings = Settings(env="test", security=SecuritySettings(secret_key=SECRET_KEY))
    app = create_app(settings, sessionmaker=committing_sessionmaker, redis=redis)
    async with running(app) as client:
        login = await client.post(
            "/api/v1/auth/login",
            json={"email": "root@example.test", "password": "a long passphrase"},
        )
    assert login.status_code == 200, login.text

    duplicate = relaydesk(
        "create-admin", "root@example.test", env=relaydesk_env, stdin="another passphrase\n"
    )
    assert duplicate.returncode == 1
    assert duplicate.stderr == "error: an agent with email root@example.test already exists\n"


@pytest.mark.committing
async def test_seed_demo_a_second_time_is_one_line_and_exit_1(
    relaydesk_env: dict[str, str], committing_sessionmaker: SessionMaker
) -> None:
    first = relaydesk("seed-demo", "--contacts", "5", env=relaydesk_env)
    assert first.returncode == 0, first.stderr
    async with committing_sessionmaker() as session:
        tickets = await session.scalar(select(func.count()).select_from(Ticket))

    again = relaydesk("seed-demo", "--contacts", "5", env=relaydesk_env)

    assert again.returncode == 1, again.stderr
    assert again.stderr == (
        f"error: demo data already present (the agent {DEMO_ADMIN_EMAIL} exists); "
        "seed-demo only fills a database that does not have it yet\n"
    )
    async with committing_sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(Ticket)) == tickets


def test_create_admin_rejects_a_short_password(relaydesk_env: dict[str, str]) -> None:
    result = relaydesk("create-admin", "short@example.test", env=relaydesk_env, stdin="tooshort\n")

    assert result.returncode == 1
    assert result.stderr == "error: the password must be at least 10 characters\n"


@pytest.mark.parametrize("command", ["serve", "worker", "migrate", "create-admin x@example.test"])
def test_an_unreachable_database_is_one_line_and_exit_2(
    relaydesk_env: dict[str, str], command: str
) -> None:
    url = f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/relaydesk"

    result = relaydesk(*command.split(), env={**relaydesk_env, "DATABASE_URL": url})

    assert_one_line_error(result, "DATABASE_URL: cannot connect to 127.0.0.1:")


def test_a_malformed_setting_is_one_line_and_exit_2(relaydesk_env: dict[str, str]) -> None:
    result = relaydesk("serve", env={**relaydesk_env, "DATABASE_URL": "mysql://db/relaydesk"})

    assert_one_line_error(result, "DATABASE_URL must be a URL")


@pytest.mark.parametrize("command", ["serve", "worker"])
def test_an_unreachable_redis_is_one_line_and_exit_2(
    relaydesk_env: dict[str, str], command: str
) -> None:
    result = relaydesk(
        command, env={**relaydesk_env, "REDIS_URL": f"redis://127.0.0.1:{free_port()}/0"}
    )

    assert_one_line_error(result, "REDIS_URL: cannot connect to 127.0.0.1:")


def test_openapi_writes_the_document_without_any_service(
    relaydesk_env: dict[str, str], tmp_path: Path
) -> None:
    """The console's types are generated from it at build time, where nothing runs."""
    nowhere = f"127.0.0.1:{free_port()}"
    env = {
        **relaydesk_env,
        "DATABASE_URL": f"postgresql+asyncpg://postgres@{nowhere}/relaydesk",
        "REDIS_URL": f"redis://{nowhere}/0",
    }
    output = tmp_path / "nested" / "openapi.json"

    result = relaydesk("openapi", "--output", str(output), env=env)

    assert result.returncode == 0, result.stderr
    document = json.loads(output.read_text())
    assert document["info"]["title"] == "Relaydesk API"
    assert "/api/v1/auth/session" in document["paths"]
    assert "SessionOut" in document["components"]["schemas"]
    assert not [path for path in document["paths"] if path.startswith(("/console", "/widget"))]
    printed = relaydesk("openapi", env=env)
    assert json.loads(printed.stdout) == document


@pytest.mark.parametrize(("flags", "logged"), [((), True), (("--no-access-log",), False)])
def test_serve_answers_healthz_and_logs_requests_unless_told_not_to(
    relaydesk_env: dict[str, str], flags: tuple[str, ...], logged: bool
) -> None:
    port = free_port()
    with started("serve", "--port", str(port), *flags, env=relaydesk_env) as process:
        response = wait_for_http(f"http://127.0.0.1:{port}/healthz", process)

        assert response.status_code == 200
        assert response.json() == {"status": "ok"}
    assert process.stdout is not None
    assert ('"GET /healthz HTTP/1.1" 200' in process.stdout.read()) is logged


@pytest.mark.parametrize(
    ("trusted", "address"), [("", "127.0.0.1"), ("127.0.0.0/8", "203.0.113.9")]
)
async def test_serve_believes_x_forwarded_for_only_from_a_trusted_proxy(
    relaydesk_env: dict[str, str], redis: Redis, trusted: str, address: str
) -> None:
    """uvicorn on its own believes X-Forwarded-For from 127.0.0.1; a client there must not
    pick its own throttle address. Only RELAYDESK_TRUSTED_PROXIES decides."""
    port = free_port()
    body = {"email": "nobody@example.test", "password": "guess"}
    env = {**relaydesk_env, "RELAYDESK_TRUSTED_PROXIES": trusted}
    with started("serve", "--port", str(port), env=env) as process:
        wait_for_http(f"http://127.0.0.1:{port}/healthz", process)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            response = await client.post(
                "/api/v1/auth/login", json=body, headers={"X-Forwarded-For": "203.0.113.9"}
            )

    assert response.status_code == 401
    keys = sorted(k.decode() for k in await redis.keys("*:login:*"))
    prefix = relaydesk_env["RELAYDESK_REDIS_PREFIX"]
    assert keys == [
        f"{prefix}:login:account:nobody@example.test",
        f"{prefix}:login:address:{address}",
    ]


@pytest.mark.committing
async def test_dev_serves_relays_the_outbox_and_stops_on_ctrl_c(
    relaydesk_env: dict[str, str], committing_sessionmaker: SessionMaker
) -> None:
    port = free_port()
    with started("dev", "--port", str(port), env=relaydesk_env) as process:
        assert wait_for_http(f"http://127.0.0.1:{port}/readyz", process).status_code == 200
        async with transaction(committing_sessionmaker) as session:
            event = emit(session, topic=TICKET_UPDATED, payload={})
            await session.flush()

        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            async with committing_sessionmaker() as session:
                if await session.scalar(
                    select(OutboxEvent.published_at).where(OutboxEvent.id == event.id)
                ):
                    break
            await asyncio.sleep(0.1)
        else:
            pytest.fail("the dev process did not relay the outbox event")

        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=15)

    assert process.returncode == 0, output
    assert "Traceback" not in output
