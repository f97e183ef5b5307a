"""Processing webhook deliveries: a stored item becomes messages through its adapter.

The webhook endpoint stores the body and answers the provider at once; the outbox turns
`inbound.pending` into this job. It is idempotent: an item that is no longer `pending` is
left alone, so a relay retry or a second worker does nothing twice.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.db.engine import transaction
from app.inbound.models import InboundItem
from app.inbound.service import INBOUND_PENDING, decompress, finish
from app.inboxes.models import Inbox
from app.inboxes.service import inbox_secrets
from app.ingest.receive import Skip, process_item
from app.ingest.types import InboundMessage
from app.ingest.webhooks import InboxContext, WebhookAdapter

log = logging.getLogger(__name__)


def inbound_jobs(payload: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """The outbox mapper: a stored (or retried) webhook delivery is processed by a job."""
    if isinstance(payload.get("item_id"), int):
        return [("process_inbound", {"item_id": payload["item_id"]})]
    return []


TOPICS = {INBOUND_PENDING: inbound_jobs}


def inbox_context(inbox: Inbox, box: Any) -> InboxContext:
    return InboxContext(
        inbox_id=inbox.id, settings=dict(inbox.settings), secrets=inbox_secrets(inbox, box)
    )


async def _process(
    session: AsyncSession, item: InboundItem, adapter: WebhookAdapter, ctx: dict[str, Any]
) -> str:
    inbox = await session.get(Inbox, item.inbox_id)
    assert inbox is not None  # items go with their inbox (ON DELETE CASCADE)
    context = inbox_context(inbox, ctx["secret_box"])

    async def prepare(session: AsyncSession, item: InboundItem) -> Sequence[InboundMessage] | Skip:
        try:
            return adapter.parse(decompress(item.raw_compressed), item.meta, context)
        except (ValueError, KeyError, TypeError) as exc:  # the provider's payload, not our bug
            return Skip("failed", f"cannot read the payload: {type(exc).__name__}: {exc}")

    return await process_item(
        session,
        item,
        prepare=prepare,
        policy=adapter.policy(context),
        store=ctx["attachment_store"],
        now=ctx["clock"](),
    )


async def process_inbound(ctx: dict[str, Any], *, item_id: int) -> str:
    """Turn a pending webhook delivery into messages; returns its final status."""
    sessionmaker, clock = ctx["sessionmaker"], ctx["clock"]
    try:
        async with transaction(sessionmaker) as session:
            item = await session.get(InboundItem, item_id, with_for_update=True)
            if item is None or item.status != "pending":
                return "skipped"
            adapter = ctx.get("webhook_adapters", {}).get(item.channel)
            if adapter is None:
                reason = f"no adapter can read {item.channel} deliveries"
                return finish(item, "failed", reason, clock())
            return await _process(session, item, adapter, ctx)
    except Exception as exc:  # a bug or bad data in one delivery must not be lost silently
        log.exception("processing inbound item %s failed", item_id)
        async with transaction(sessionmaker) as session:
            item = await session.get(InboundItem, item_id, with_for_update=True)
            if item is None or item.status != "pending":
                return "skipped"
            reason = f"processing failed: {type(exc).__name__}: {exc}"[:2000]
            return finish(item, "failed", reason, clock())
