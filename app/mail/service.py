"""An email inbox's position in its IMAP folder (the raw messages themselves are kept in
the inbound store, app.inbound)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from app.mail.models import MailboxState


async def mailbox_state(
    session: AsyncSession, inbox_id: int, *, folder: str, uidvalidity: int
) -> MailboxState:
    """The import position for this folder, reset when the server's UIDVALIDITY changed
    (old UIDs mean nothing then; Message-ID dedupe keeps the re-read from importing twice)."""
    state = await session.get(MailboxState, inbox_id, with_for_update=True)
    if state is None:
        state = MailboxState(
            inbox_id=inbox_id, folder=folder, uidvalidity=uidvalidity, last_uid=0, settled_uid=0
        )
        session.add(state)
    elif state.uidvalidity != uidvalidity or state.folder != folder:
        state.folder, state.uidvalidity = folder, uidvalidity
        state.last_uid = state.settled_uid = 0
    await session.flush()
    return state
