"""Import one stored raw email: parse it, act on what only email knows, then ingest it under
the rules every channel shares (app.ingest.receive: rate limit, auto-replies kept aside,
loops, acknowledgement).

Email's own part: mail from the inbox's own address is a loop, and a bounce marks the
reply it refers to failed before the bounce itself is recorded on the ticket.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.attachments.storage import AttachmentStore
from app.inbound.models import InboundItem
from app.inbound.service import decompress
from app.ingest.batch import BatchReceiver, Prepared
from app.ingest.receive import Prepare, ReceivePolicy, Skip, process_item
from app.ingest.types import InboundMessage
from app.messages.models import Message
from app.messages.service import do_record_delivery
from channels.email.inbound import to_inbound
from channels.email.parse import EmailParseError, ParsedEmail, parse_email
from channels.email.parsing import Parsed
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
    # Only a permanent one (`prepared_email`): after a "delayed" report the server keeps trying.
    assert bounce is not None
    assert bounce.original_message_id
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


def email_prepare(settings: EmailInboxSettings, now: datetime) -> Prepare:
    """The email adapter's part of `process_item`: parse, spot loops, record bounces."""

    async def prepare(session: AsyncSession, item: InboundItem) -> Sequence[InboundMessage] | Skip:
        try:
            parsed = parse_email(decompress(item.raw_compressed))
        except EmailParseError as exc:
            return Skip("failed", f"cannot parse the message: {exc}")
        verdict = prepared_email(parsed, item, settings=settings, now=now)
        if verdict is None:  # a bounce: marks the reply it refers to failed first
            await _record_bounce(session, parsed, item.inbox_id, now)
            return _to_inbound(parsed, item, settings=settings, now=now)
        return verdict

    return prepare


def _to_inbound(
    parsed: ParsedEmail, item: InboundItem, *, settings: EmailInboxSettings, now: datetime
) -> list[InboundMessage] | Skip:
    try:
        return [to_inbound(parsed, inbox_id=item.inbox_id, settings=settings, received_at=now)]
    except ValueError as exc:
        return Skip("failed", str(exc))


def prepared_email(
    parsed: Parsed, item: InboundItem, *, settings: EmailInboxSettings, now: datetime
) -> Prepared:
    """What a parse (from the parser pool) makes of an item, without the session; None when
    it needs the session (a bounce) or the parse hit something unexpected."""
    if isinstance(parsed, EmailParseError):
        return Skip("failed", f"cannot parse the message: {parsed}")
    if parsed is None:
        return None
    sender = parsed.from_address or parsed.reply_to
    if sender == settings.address:
        return Skip("ignored", "sent from this inbox's own address (mail loop)")
    if parsed.bounce is not None and parsed.bounce.original_message_id and parsed.bounce.permanent:
        return None
    return _to_inbound(parsed, item, settings=settings, now=now)


async def import_email(
    session: AsyncSession,
    item: InboundItem,
    *,
    settings: EmailInboxSettings,
    store: AttachmentStore,
    now: datetime,
) -> str:
    """Import a `pending` item (the caller holds its lock); returns its final status."""
    return await process_item(
        session,
        item,
        prepare=email_prepare(settings, now),
        policy=receive_policy(settings),
        store=store,
        now=now,
    )


class EmailBatch:
    """A batch of stored emails, parsed already (by the parser pool), imported in the
    caller's transaction by `BatchReceiver`: call `import_item` for each locked row in
    order, then `finish`."""

    def __init__(
        self,
        session: AsyncSession,
        rows: Sequence[InboundItem],
        parsed: Mapping[int, Parsed],
        *,
        inbox_id: int,
        settings: EmailInboxSettings,
        store: AttachmentStore,
        now: datetime,
    ) -> None:
        self.prepared = {
            row.id: prepared_email(parsed.get(row.id), row, settings=settings, now=now)
            for row in rows
        }
        self.receiver = BatchReceiver(
            session,
            inbox_id=inbox_id,
            prepare=email_prepare(settings, now),
            policy=receive_policy(settings),
            store=store,
            now=now,
        )
        self.receiver.expect([(row, self.prepared[row.id]) for row in rows])

    async def import_item(self, item: InboundItem) -> str:
        return await self.receiver.receive(item, self.prepared.get(item.id))

    async def finish(self) -> None:
        await self.receiver.flush()
