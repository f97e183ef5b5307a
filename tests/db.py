"""Test databases: one migrated template per migrations tree, cloned per test worker.

The template's comment holds a hash of `migrations/`; it is rebuilt only when that changes.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import asyncpg

ROOT = Path(__file__).resolve().parent.parent
SERVER_DSN = os.environ.get("TEST_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432")
TEMPLATE = "relaydesk_test_template"
LOCK_KEY = 734_201  # advisory lock serialising template builds across xdist workers


def migrations_hash() -> str:
    digest = hashlib.sha256()
    for path in sorted((ROOT / "migrations").rglob("*.py")):
        digest.update(path.relative_to(ROOT).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def async_url(database: str) -> str:
    return SERVER_DSN.replace("postgresql://", "postgresql+asyncpg://", 1) + "/" + database


async def _template_hash(conn: asyncpg.Connection) -> str | None:
    value: str | None = await conn.fetchval(
        "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = $1", TEMPLATE
    )
    return value


def migrate(database: str) -> None:
    env = {**os.environ, "DATABASE_URL": async_url(database)}
    subprocess.run(
        [sys.executable, "-m", "alembic", "upgrade", "head"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )


async def ensure_template() -> None:
    conn = await asyncpg.connect(SERVER_DSN + "/postgres")
    try:
        await conn.execute("SELECT pg_advisory_lock($1)", LOCK_KEY)
        wanted = migrations_hash()
        if await _template_hash(conn) == wanted:
            return
        await conn.execute(f'DROP DATABASE IF EXISTS "{TEMPLATE}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{TEMPLATE}"')
        migrate(TEMPLATE)
        await conn.execute(f"COMMENT ON DATABASE \"{TEMPLATE}\" IS '{wanted}'")
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", LOCK_KEY)
        await conn.close()


async def clone_template(name: str) -> str:
    """A fresh database copied from the migrated template; returns its SQLAlchemy URL."""
    await ensure_template()
    conn = await asyncpg.connect(SERVER_DSN + "/postgres")
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{TEMPLATE}"')
    finally:
        await conn.close()
    return async_url(name)


async def drop_database(name: str) -> None:
    conn = await asyncpg.connect(SERVER_DSN + "/postgres")
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()
