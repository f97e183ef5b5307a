"""Import one stored raw email: parse it, act on what only email knows, then ingest it under
the rules every channel shares (app.ingest.receive: rate limit, auto-replies kept aside,
loops, acknowledgement).

Email's own part: mail from the inbox's own address is a loop, and a bounce marks the
reply it refers to failed before the bounce itself is recorded on the ticket.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.attachments.storage import AttachmentStore
from app.inbound.models import InboundItem
from app.inbound.service import decompress
from app.ingest.receive import ReceivePolicy, Skip, process_item
from app.ingest.types import InboundMessage
from app.messages.models import Message
from app.messages.service import do_record_delivery
from channels.email.inbound import to_inbound
from channels.email.parse import EmailParseError, ParsedEmail, parse_email
from channels.email.settings import EmailInboxSettings

log = logging.getLogger(__name__)


async def _our_outbound(session: AsyncSession, inbox_id: int, message_id: str) -> Message | None:
    return await session.scalar(
        select(Message).where(
            Message.inbox_id == inbox_id,
            Message.external_id == message_id,
            Message.direction == "outbound",
        )
    )


async def _record_bounce(
    session: AsyncSession, parsed: ParsedEmail, inbox_id: int, now: datetime
) -> None:
    bounce = parsed.bounce
    if bounce is None or not bounce.original_message_id or not bounce.permanent:
        return  # a "delayed" report is news, not a failure: the server keeps trying
    bounced = await _our_outbound(session, inbox_id, bounce.original_message_id)
    if bounced is None:
        return
    detail = " ".join(p for p in (bounce.status, bounce.diagnostic) if p) or "no details given"
    who = f" for {bounce.recipient}" if bounce.recipient else ""
    await do_record_delivery(
        session,
        message_id=bounced.id,
        status="failed",
        failure_reason=f"bounced{who}: {detail}"[:2000],
        now=now,
    )


def receive_policy(settings: EmailInboxSettings) -> ReceivePolicy:
    return ReceivePolicy(
        rate_limit_messages=settings.rate_limit_messages,
        rate_limit_minutes=settings.rate_limit_minutes,
        acknowledge=settings.auto_acknowledge_text if settings.auto_acknowledge else None,
    )


async def import_email(
    session: AsyncSession,
    item: InboundItem,
    *,
    settings: EmailInboxSettings,
    store: AttachmentStore,
    now: datetime,
) -> str:
    """Import a `pending` item (the caller holds its lock); returns its final status."""

    async def prepare(session: AsyncSession, item: InboundItem) -> list[InboundMessage] | Skip:
        try:
            parsed = parse_email(decompress(item.raw_compressed))
        except EmailParseError as exc:
            return Skip("failed", f"cannot parse the message: {exc}")
        sender = parsed.from_address or parsed.reply_to
        if sender == settings.address:
            return Skip("ignored", "sent from this inbox's own address (mail loop)")
        await _record_bounce(session, parsed, item.inbox_id, now)
        try:
            return [to_inbound(parsed, inbox_id=item.inbox_id, settings=settings, received_at=now)]
        except ValueError as exc:
            return Skip("failed", str(exc))

    return await process_item(
        session, item, prepare=prepare, policy=receive_policy(settings), store=store, now=now
    )
