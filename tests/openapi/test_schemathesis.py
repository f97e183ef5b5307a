"""The OpenAPI document is the contract the console and every integration generate their
clients from: schemathesis runs against the live app (uvicorn, a database of its own) with
its conformance checks, and every status and body the API answers must be declared."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import create_async_engine

from app.config import DatabaseSettings, RedisSettings, SecuritySettings, Settings, StorageSettings
from app.db.engine import create_sessionmaker, transaction
from app.main import create_app
from tests.conftest import CHANNEL_PREFIX, REDIS_URL, SECRET_KEY
from tests.db import clone_template, drop_database
from tests.factories.agents import PASSWORD, make_agent
from tests.servers.live_app import live_app

SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
ADMIN_EMAIL = "schemathesis-admin@example.test"
CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "response_headers_conformance",
    # Not yet "negative_data_rejection": Litestar converts bodies leniently, so a string
    # "1" or "true" passes where the schema says integer or boolean (the closing note).
    "missing_required_header",
    # A method the route lacks is a 405 with an Allow header that lists the route's methods.
    "unsupported_method",
    "allow_header_conformance",
    # A route marked as needing a token refuses a call without one.
    "ignored_auth",
)
# A small budget keeps the run within a minute or two on two busy cores; the seed makes a
# failure reproducible (RELAYDESK_SCHEMATHESIS_SEED tries another, *_EXAMPLES more cases).
MAX_EXAMPLES = int(os.environ.get("RELAYDESK_SCHEMATHESIS_EXAMPLES", "8"))
SEED = int(os.environ.get("RELAYDESK_SCHEMATHESIS_SEED", "12"))


@pytest.fixture(scope="module")
async def openapi_database(worker_name: str) -> AsyncIterator[tuple[str, int]]:
    """A database of the run's own, with the admin it works as (and that admin's id)."""
    name = f"relaydesk_openapi_{worker_name}_{os.getpid()}"
    url = await clone_template(name)
    engine = create_async_engine(url)
    try:
        async with transaction(create_sessionmaker(engine)) as session:
            admin = await make_agent(session, role="admin", email=ADMIN_EMAIL)
    finally:
        await engine.dispose()
    yield url, admin.id
    await drop_database(name)


@pytest.fixture(scope="module")
def server_url(
    openapi_database: tuple[str, int], redis_db: int, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    settings = Settings(
        env="test",
        database=DatabaseSettings(url=openapi_database[0], pool_size=4),
        redis=RedisSettings(url=f"{REDIS_URL}/{redis_db}", channel_prefix=CHANNEL_PREFIX),
        security=SecuritySettings(secret_key=SECRET_KEY, login_max_failures=10_000),
        storage=StorageSettings(data_dir=tmp_path_factory.mktemp("openapi") / "data"),
    )
    with live_app(create_app(settings)) as url:
        yield url


def test_the_api_conforms_to_its_openapi_document(
    server_url: str, openapi_database: tuple[str, int], tmp_path: Path
) -> None:
    env = {
        **os.environ,
        "SCHEMATHESIS_HOOKS": "tests.openapi.hooks",
        "RELAYDESK_SCHEMATHESIS_URL": server_url,
        "RELAYDESK_SCHEMATHESIS_EMAIL": ADMIN_EMAIL,
        "RELAYDESK_SCHEMATHESIS_PASSWORD": PASSWORD,
        "RELAYDESK_SCHEMATHESIS_ADMIN_ID": str(openapi_database[1]),
        "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
    }
    command = [
        str(SCHEMATHESIS),
        "run",
        f"{server_url}/schema/openapi.json",
        "--checks",
        os.environ.get("RELAYDESK_SCHEMATHESIS_CHECKS", ",".join(CHECKS)),
        "--max-examples",
        str(MAX_EXAMPLES),
        "--seed",
        str(SEED),
        "--workers",
        "2",
        "--phases",
        os.environ.get("RELAYDESK_SCHEMATHESIS_PHASES", "examples,coverage,fuzzing"),
        "--request-timeout",
        "30",
        "--no-color",
        "--report-dir",
        str(tmp_path),
    ]
    started = time.monotonic()
    # In tmp_path: schemathesis keeps a cache folder in its working directory.
    run = subprocess.run(
        command, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=600
    )
    elapsed = time.monotonic() - started
    (tmp_path / "schemathesis.log").write_text(run.stdout + run.stderr)
    print(run.stdout[-10_000:], run.stderr[-5_000:], f"schemathesis took {elapsed:.0f}s", sep="\n")
    assert run.returncode == 0, "schemathesis found responses the OpenAPI document does not declare"
