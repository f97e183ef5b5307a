"""The pool hands out live connections without a ping per request."""

from __future__ import annotations

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from app.config import DatabaseSettings
from app.db.engine import create_engine
from tests.db import SERVER_DSN


async def _kill_backend(pid: int) -> None:
    conn = await asyncpg.connect(SERVER_DSN + "/postgres")
    try:
        assert await conn.fetchval("SELECT pg_terminate_backend($1)", pid)
    finally:
        await conn.close()


async def _backend_pid(engine: object) -> int:
    async with engine.connect() as conn:  # type: ignore[attr-defined]
        pid: int = await conn.scalar(text("SELECT pg_backend_pid()"))
    return pid


async def test_a_pooled_connection_killed_while_idle_is_replaced_before_use(
    database_url: str,
) -> None:
    """A database restart or a proxy's idle timeout: the next request must not fail."""
    engine = create_engine(DatabaseSettings(url=database_url, pool_size=1), stale_after=0.0)
    try:
        killed = await _backend_pid(engine)
        await _kill_backend(killed)

        async with engine.connect() as conn:
            assert await conn.scalar(text("SELECT 1")) == 1
            assert await conn.scalar(text("SELECT pg_backend_pid()")) != killed
    finally:
        await engine.dispose()


async def test_a_connection_returned_a_moment_ago_is_used_without_a_ping(
    database_url: str,
) -> None:
    """The flip side, and why the ping waits for an idle connection: a hot connection
    costs no round trip. (Killed while hot, the one request on it fails and the pool
    is invalidated, so the next gets a new connection.)"""
    engine = create_engine(DatabaseSettings(url=database_url, pool_size=1), stale_after=3600)
    try:
        killed = await _backend_pid(engine)
        await _kill_backend(killed)

        with pytest.raises(DBAPIError) as failed:
            async with engine.connect() as conn:
                await conn.scalar(text("SELECT 1"))
        assert failed.value.connection_invalidated

        async with engine.connect() as conn:
            assert await conn.scalar(text("SELECT pg_backend_pid()")) != killed
    finally:
        await engine.dispose()
