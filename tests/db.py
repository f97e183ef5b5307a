"""Test databases: one migrated template per migrations tree, cloned per test worker.

The template is named after a hash of `migrations/`, so it is rebuilt only when that changes
and checkouts with different migrations (a branch, a colleague's tree) never rebuild each
other's template while it is being cloned.
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
TEMPLATE_PREFIX = "relaydesk_test_template_"
LOCK_KEY = 734_201  # advisory lock serialising template builds across xdist workers


def migrations_hash() -> str:
    digest = hashlib.sha256()
    for path in sorted((ROOT / "migrations").rglob("*.py")):
        digest.update(path.relative_to(ROOT).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def async_url(database: str) -> str:
    return SERVER_DSN.replace("postgresql://", "postgresql+asyncpg://", 1) + "/" + database


async def _is_complete(conn: asyncpg.Connection, template: str) -> bool:
    """A template is marked complete (its comment) only after its migration succeeded."""
    value: str | None = await conn.fetchval(
        "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = $1",
        template,
    )
    return value == "complete"


def migrate(database: str) -> None:
    env = {**os.environ, "DATABASE_URL": async_url(database)}
    subprocess.run(
        [sys.executable, "-m", "alembic", "upgrade", "head"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )


async def ensure_template() -> str:
    """The name of the migrated template for this tree's migrations, built if missing."""
    template = TEMPLATE_PREFIX + migrations_hash()
    conn = await asyncpg.connect(SERVER_DSN + "/postgres")
    try:
        await conn.execute("SELECT pg_advisory_lock($1)", LOCK_KEY)
        if await _is_complete(conn, template):
            return template
        await conn.execute(f'DROP DATABASE IF EXISTS "{template}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{template}"')
        migrate(template)
        await conn.execute(f"COMMENT ON DATABASE \"{template}\" IS 'complete'")
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", LOCK_KEY)
        await conn.close()
    return template


async def clone_template(name: str) -> str:
    """A fresh database copied from the migrated template; returns its SQLAlchemy URL."""
    template = await ensure_template()
    conn = await asyncpg.connect(SERVER_DSN + "/postgres")
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    finally:
        await conn.close()
    return async_url(name)


async def drop_database(name: str) -> None:
    conn = await asyncpg.connect(SERVER_DSN + "/postgres")
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()
