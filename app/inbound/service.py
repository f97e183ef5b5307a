"""The raw inbound store: store first, then record what processing made of each delivery.

Transports (the IMAP poller, the webhook endpoint) store what they receive here before
they acknowledge it to the provider; processing then turns a `pending` item into messages
(app.ingest.receive) and leaves it with a final status and, when something went wrong, a
reason an admin can read, download and retry.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.actor import Actor, require_admin
from app.errors import NotFound, ValidationFailed
from app.inbound.models import InboundItem
from app.inboxes.channels import channel
from app.inboxes.models import Inbox
from app.outbox.service import emit

COMPRESSION_LEVEL = 6
RETRYABLE = ("failed", "rate_limited")
# Emitted when an item of a webhook channel waits for processing (stored or retried); the
# outbox turns it into a `process_inbound` job. Email items are the poller's to import.
INBOUND_PENDING = "inbound.pending"


def compress(raw: bytes) -> bytes:
    return zlib.compress(raw, COMPRESSION_LEVEL)


def decompress(stored: bytes) -> bytes:
    return zlib.decompress(stored)


@dataclass(frozen=True)
class Delivery:
    """One payload as a transport received it."""

    delivery_key: str
    raw: bytes
    content_type: str
    external_id: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)


async def store_deliveries(
    session: AsyncSession,
    *,
    inbox_id: int,
    channel_name: str,
    deliveries: Sequence[Delivery],
    now: datetime,
) -> list[int]:
    """Keep the deliveries as received, in one statement; returns the new items' ids, without
    those stored before under the same delivery key (a redelivery, a re-read batch)."""
    if not deliveries:
        return []
    rows = [
        {
            "inbox_id": inbox_id,
            "channel": channel_name,
            "delivery_key": d.delivery_key,
            "external_id": d.external_id,
            "content_type": d.content_type,
            "raw_compressed": compress(d.raw),
            "size": len(d.raw),
            "meta": d.meta,
            "status": "pending",
            "received_at": now,
        }
        for d in deliveries
    ]
    # Parameters as a list: one cached statement, sent as multi-row VALUES by SQLAlchemy's
    # insertmanyvalues (`.values(rows)` compiled a new statement for every batch, ~50 ms).
    inserted = sorted(
        (
            await session.scalars(
                insert(InboundItem)
                .on_conflict_do_nothing(constraint="uq_inbound_items_inbox_id_delivery_key")
                .returning(InboundItem.id),
                rows,
            )
        ).all()
    )
    if inserted and channel(channel_name).webhook:
        for item_id in inserted:
            emit(session, topic=INBOUND_PENDING, payload={"item_id": item_id})
    return inserted


async def known_external_ids(
    session: AsyncSession, inbox_id: int, external_ids: Sequence[str]
) -> set[str]:
    if not external_ids:
        return set()
    stmt = select(InboundItem.external_id).where(
        InboundItem.inbox_id == inbox_id, InboundItem.external_id.in_(external_ids)
    )
    return {m for m in (await session.scalars(stmt)).all() if m}


async def pending_ids(session: AsyncSession, inbox_id: int, *, limit: int = 500) -> list[int]:
    stmt = (
        select(InboundItem.id)
        .where(InboundItem.inbox_id == inbox_id, InboundItem.status == "pending")
        .order_by(InboundItem.id)
        .limit(limit)
    )
    return list((await session.scalars(stmt)).all())


async def locked_pending(session: AsyncSession, item_ids: Sequence[int]) -> list[InboundItem]:
    """These items, locked, if still `pending` (another process may have imported some)."""
    stmt = (
        select(InboundItem)
        .where(InboundItem.id.in_(item_ids), InboundItem.status == "pending")
        .order_by(InboundItem.id)
        .with_for_update()
    )
    return list((await session.scalars(stmt)).all())


async def list_items(
    session: AsyncSession,
    actor: Actor,
    inbox_id: int,
    *,
    statuses: Sequence[str],
    limit: int,
    before_id: int | None,
) -> list[InboundItem]:
    """Newest first, one more than `limit` (the caller pages by id)."""
    require_admin(actor)
    if await session.get(Inbox, inbox_id) is None:
        raise NotFound(f"inbox {inbox_id} does not exist")
    stmt = select(InboundItem).where(InboundItem.inbox_id == inbox_id)
    if statuses:
        stmt = stmt.where(InboundItem.status.in_(statuses))
    if before_id:
        stmt = stmt.where(InboundItem.id < before_id)
    return list(
        (await session.scalars(stmt.order_by(InboundItem.id.desc()).limit(limit + 1))).all()
    )


async def access_item(
    session: AsyncSession, actor: Actor, inbox_id: int, item_id: int
) -> InboundItem:
    require_admin(actor)
    item = await session.get(InboundItem, item_id)
    if item is None or item.inbox_id != inbox_id:
        raise NotFound(f"inbound item {item_id} does not exist in inbox {inbox_id}")
    return item


async def do_retry_item(
    session: AsyncSession, actor: Actor, inbox_id: int, item_id: int
) -> InboundItem:
    """Put a failed or rate-limited delivery back in line: the inbox's poller (email) or a
    `process_inbound` job (webhook channels) processes it again."""
    item = await access_item(session, actor, inbox_id, item_id)
    if item.status not in RETRYABLE:
        raise ValidationFailed.field(
            "status", f"only {' or '.join(RETRYABLE)} items can be retried, not {item.status}"
        )
    item.status, item.error = "pending", None
    item.attempts += 1
    if channel(item.channel).webhook:
        emit(session, topic=INBOUND_PENDING, payload={"item_id": item.id})
    await session.flush()
    return item


def finish(item: InboundItem, status: str, error: str | None, now: datetime) -> str:
    item.status, item.error, item.processed_at = status, error, now
    return status
