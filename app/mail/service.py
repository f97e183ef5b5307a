"""Raw inbound email: store first, then record what import made of it.

Parsing and transport are the email channel's; the domain keeps the durable record, lets
admins see failures, and marks a failed message for another try (the channel's poller
picks up `pending` rows).
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.actor import Actor, require_admin
from app.errors import NotFound, ValidationFailed
from app.inboxes.models import Inbox
from app.mail.models import InboundEmail, MailboxState

COMPRESSION_LEVEL = 6
RETRYABLE = ("failed", "rate_limited")


def compress(raw: bytes) -> bytes:
    return zlib.compress(raw, COMPRESSION_LEVEL)


def decompress(stored: bytes) -> bytes:
    return zlib.decompress(stored)


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


async def known_message_ids(
    session: AsyncSession, inbox_id: int, message_ids: Sequence[str]
) -> set[str]:
    if not message_ids:
        return set()
    stmt = select(InboundEmail.message_id_header).where(
        InboundEmail.inbox_id == inbox_id, InboundEmail.message_id_header.in_(message_ids)
    )
    return {m for m in (await session.scalars(stmt)).all() if m}


async def store_raw(
    session: AsyncSession,
    *,
    inbox_id: int,
    uidvalidity: int,
    messages: Sequence[tuple[int, bytes, str | None]],
    now: datetime,
) -> list[int]:
    """Keep (uid, raw bytes, Message-ID) messages as received, in one statement; returns
    the new row ids, without those of UIDs stored before (a restart re-reading a batch)."""
    if not messages:
        return []
    rows = [
        {
            "inbox_id": inbox_id,
            "uidvalidity": uidvalidity,
            "uid": uid,
            "message_id_header": message_id_header,
            "raw_compressed": compress(raw),
            "size": len(raw),
            "status": "pending",
            "received_at": now,
        }
        for uid, raw, message_id_header in messages
    ]
    inserted = await session.scalars(
        insert(InboundEmail)
        .values(rows)
        .on_conflict_do_nothing(constraint="uq_inbound_emails_inbox_id_uidvalidity_uid")
        .returning(InboundEmail.id)
    )
    return sorted(inserted.all())


async def pending_ids(session: AsyncSession, inbox_id: int, *, limit: int = 500) -> list[int]:
    stmt = (
        select(InboundEmail.id)
        .where(InboundEmail.inbox_id == inbox_id, InboundEmail.status == "pending")
        .order_by(InboundEmail.id)
        .limit(limit)
    )
    return list((await session.scalars(stmt)).all())


async def locked_pending(session: AsyncSession, row_ids: Sequence[int]) -> list[InboundEmail]:
    """These rows, locked, if still `pending` (another process may have imported some)."""
    stmt = (
        select(InboundEmail)
        .where(InboundEmail.id.in_(row_ids), InboundEmail.status == "pending")
        .order_by(InboundEmail.id)
        .with_for_update()
    )
    return list((await session.scalars(stmt)).all())


async def list_emails(
    session: AsyncSession,
    actor: Actor,
    inbox_id: int,
    *,
    statuses: Sequence[str],
    limit: int,
    before_id: int | None,
) -> list[InboundEmail]:
    require_admin(actor)
    if await session.get(Inbox, inbox_id) is None:
        raise NotFound(f"inbox {inbox_id} does not exist")
    stmt = select(InboundEmail).where(InboundEmail.inbox_id == inbox_id)
    if statuses:
        stmt = stmt.where(InboundEmail.status.in_(statuses))
    if before_id:
        stmt = stmt.where(InboundEmail.id < before_id)
    return list(
        (await session.scalars(stmt.order_by(InboundEmail.id.desc()).limit(limit + 1))).all()
    )


async def access_email(
    session: AsyncSession, actor: Actor, inbox_id: int, email_id: int
) -> InboundEmail:
    require_admin(actor)
    row = await session.get(InboundEmail, email_id)
    if row is None or row.inbox_id != inbox_id:
        raise NotFound(f"email {email_id} does not exist in inbox {inbox_id}")
    return row


async def do_retry_email(
    session: AsyncSession, actor: Actor, inbox_id: int, email_id: int
) -> InboundEmail:
    """Put a failed or rate-limited message back in line; the inbox's poller imports it."""
    row = await access_email(session, actor, inbox_id, email_id)
    if row.status not in RETRYABLE:
        raise ValidationFailed.field(
            "status", f"only {' or '.join(RETRYABLE)} messages can be retried"
        )
    row.status, row.error = "pending", None
    row.attempts += 1
    await session.flush()
    return row
