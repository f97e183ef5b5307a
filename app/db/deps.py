"""The request's unit of work: one session, committed before the response is sent."""

from __future__ import annotations

from collections.abc import AsyncIterator

from litestar.datastructures import State
from sqlalchemy.ext.asyncio import AsyncSession


async def provide_db_session(state: State) -> AsyncIterator[AsyncSession]:
    """Commit after the handler returns; Litestar runs this before sending the response,
    so a failed commit becomes an error response, never a 2xx for unsaved data."""
    async with state.sessionmaker() as session:
        try:
            yield session
        except BaseException:
            await session.rollback()
            raise
        await session.commit()
