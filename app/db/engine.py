"""Engine and session factory. The entry point owns the transaction; services only flush."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import ConnectionPoolEntry

from app.config import DatabaseSettings

SessionMaker = async_sessionmaker[AsyncSession]

# A connection that sat in the pool longer than this is pinged before it is handed out: a
# database restart, a failover or a proxy's idle timeout kills idle connections, while one
# returned a moment ago is alive. Pinging on every checkout (`pool_pre_ping`) would cost
# each request a round trip.
STALE_AFTER_SECONDS = 10.0
# Connections are replaced after this long, so none outlives a server-side session limit.
RECYCLE_SECONDS = 1800


def create_engine(
    settings: DatabaseSettings, *, stale_after: float = STALE_AFTER_SECONDS
) -> AsyncEngine:
    engine = create_async_engine(
        settings.url,
        pool_size=settings.pool_size,
        max_overflow=settings.pool_size,
        pool_recycle=RECYCLE_SECONDS,
        echo=settings.echo,
    )
    ping_stale_connections(engine.sync_engine, stale_after=stale_after)
    return engine


def ping_stale_connections(engine: Engine, *, stale_after: float) -> None:
    """Ping a connection on checkout if it was idle for `stale_after` seconds; a dead one is
    replaced by a new connection before the caller sees it (the pool retries the checkout
    after a `DisconnectionError`, and invalidates the connections older than it)."""

    @event.listens_for(engine, "checkin")
    def _returned(dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
        record.info["returned_at"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _handed_out(dbapi_connection: Any, record: ConnectionPoolEntry, proxy: Any) -> None:
        returned = record.info.get("returned_at")
        if returned is None or time.monotonic() - returned < stale_after:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:  # whatever the driver raises for a dead socket
            raise DisconnectionError(f"a pooled connection was dead: {exc}") from exc


def create_sessionmaker(engine: AsyncEngine) -> SessionMaker:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


@asynccontextmanager
async def transaction(sessionmaker: SessionMaker) -> AsyncIterator[AsyncSession]:
    """A unit of work for jobs, pollers and the CLI: commit on success, roll back on error."""
    async with sessionmaker() as session, session.begin():
        yield session
