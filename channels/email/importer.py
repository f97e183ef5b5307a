"""Import one stored raw email: parse, apply the loop and noise rules, ingest.

Runs inside the caller's transaction and always leaves the row with a final status and,
when something went wrong, a reason an admin can read.

An auto-reply to mail we do not have opens no ticket: it is kept `ignored` with its
references, and imported after all when the message it answers arrives (mail is not
delivered in the order it was written).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.attachments.storage import AttachmentStore
from app.contacts.models import ContactIdentity
from app.ingest.service import REFERENCES_KEPT, Unthreaded, ingest
from app.mail.models import InboundEmail
from app.mail.service import decompress
from app.messages.models import Message
from app.messages.service import do_add_system_reply, do_record_delivery
from app.tickets.models import Ticket
from channels.email.inbound import to_inbound
from channels.email.parse import EmailParseError, ParsedEmail, parse_email
from channels.email.settings import EmailInboxSettings

log = logging.getLogger(__name__)
KEPT_ASIDE = (
    "an automatic reply (auto-replied, out of office) to no conversation of this inbox; "
    "kept aside until the message it answers arrives"
)


def _finish(row: InboundEmail, status: str, error: str | None, now: datetime) -> str:
    row.status, row.error, row.processed_at = status, error, now
    return status


async def _our_outbound(session: AsyncSession, inbox_id: int, message_id: str) -> Message | None:
    return await session.scalar(
        select(Message).where(
            Message.inbox_id == inbox_id,
            Message.external_id == message_id,
            Message.direction == "outbound",
        )
    )


async def _recent_and_waiting(
    session: AsyncSession,
    inbox_id: int,
    sender: str | None,
    message_id: str,
    *,
    since: datetime | None,
) -> tuple[int, list[int]]:
    """(the sender's inbound messages since `since`, for the rate limit; the auto-replies
    kept aside waiting for this message), in one statement."""
    recent: Any = literal(0)
    if sender and since is not None:
        # By the sender's contact id, so the (author, time) index answers however large the
        # inbox grows (a join on the address let the planner scan all of the inbox's messages).
        contact_id = (
            select(ContactIdentity.contact_id)
            .where(ContactIdentity.kind == "email", ContactIdentity.value == sender)
            .scalar_subquery()
        )
        recent = (
            select(func.count())
            .select_from(Message)
            .where(
                Message.author_contact_id == contact_id,
                Message.created_at >= since,
                Message.inbox_id == inbox_id,
                Message.direction == "inbound",
            )
            .scalar_subquery()
        )
    waiting = (
        select(func.array_agg(InboundEmail.id))
        .where(
            InboundEmail.inbox_id == inbox_id,
            InboundEmail.status == "ignored",
            InboundEmail.referenced_ids.contains([message_id]),  # the partial GIN index
        )
        .scalar_subquery()
    )
    count, ids = (await session.execute(select(recent, waiting))).one()
    return int(count or 0), sorted(ids or [])


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


async def _kept_aside(session: AsyncSession, row_ids: list[int]) -> list[InboundEmail]:
    """These auto-replies, locked, if still kept aside; one another import is pulling in
    already is left to it."""
    stmt = (
        select(InboundEmail)
        .where(InboundEmail.id.in_(row_ids), InboundEmail.status == "ignored")
        .order_by(InboundEmail.id)
        .with_for_update(skip_locked=True)
    )
    return list((await session.scalars(stmt)).all())


async def import_email(
    session: AsyncSession,
    row: InboundEmail,
    *,
    settings: EmailInboxSettings,
    store: AttachmentStore,
    now: datetime,
) -> str:
    """Import a `pending` row (the caller holds its lock); returns its final status.

    Auto-replies kept aside for want of this message are imported after it, onto its
    ticket (and so are those waiting for them in turn: each pass imports rows that were
    kept aside, so it ends).
    """
    status, waiting = await _import(session, row, settings=settings, store=store, now=now)
    while waiting:
        rows, waiting = await _kept_aside(session, waiting), []
        for kept in rows:
            pulled, more = await _import(session, kept, settings=settings, store=store, now=now)
            waiting += more if pulled == "imported" else []
    return status


async def _import(
    session: AsyncSession,
    row: InboundEmail,
    *,
    settings: EmailInboxSettings,
    store: AttachmentStore,
    now: datetime,
) -> tuple[str, list[int]]:
    """(the row's final status; the kept-aside auto-replies waiting for its message, to
    import next if it was imported)."""
    try:
        parsed = parse_email(decompress(row.raw_compressed))
    except EmailParseError as exc:
        return _finish(row, "failed", f"cannot parse the message: {exc}", now), []

    sender = parsed.from_address or parsed.reply_to
    if sender == settings.address:
        reason = "sent from this inbox's own address (mail loop)"
        return _finish(row, "ignored", reason, now), []
    await _record_bounce(session, parsed, row.inbox_id, now)

    first_try = row.status == "pending" and row.attempts == 0
    since = now - timedelta(minutes=settings.rate_limit_minutes) if first_try else None
    recent, waiting = await _recent_and_waiting(
        session, row.inbox_id, sender, parsed.message_id, since=since
    )
    if recent >= settings.rate_limit_messages:
        reason = (
            f"{sender} sent more than {settings.rate_limit_messages} messages in "
            f"{settings.rate_limit_minutes} minutes; held back to stop a mail loop"
        )
        return _finish(row, "rate_limited", reason, now), []

    try:
        inbound = to_inbound(parsed, inbox_id=row.inbox_id, settings=settings, received_at=now)
    except ValueError as exc:
        return _finish(row, "failed", str(exc), now), []
    try:
        result = await ingest(session, inbound, store=store, now=now)
    except Unthreaded:
        row.referenced_ids = list(inbound.thread.replies_to[:REFERENCES_KEPT])
        return _finish(row, "ignored", KEPT_ASIDE, now), []
    if result.duplicate and result.message.direction == "outbound":
        reason = "one of our own replies came back (mail loop)"
        return _finish(row, "ignored", reason, now), []
    row.message_id = result.message.id
    if result.duplicate:
        return _finish(row, "duplicate", None, now), []
    if result.created_ticket and settings.auto_acknowledge and not inbound.automated:
        ticket = await session.get(Ticket, result.ticket.id)
        assert ticket is not None
        await do_add_system_reply(session, ticket, body=settings.auto_acknowledge_text, now=now)
    return _finish(row, "imported", None, now), waiting
