"""Emailing an agent's chat reply to a visitor who left.

A reply that no visitor socket received (live or by resume; app.realtime.receipts marks
those `delivered`) within the chat inbox's `email_after_seconds` goes to the visitor's
email address (their pre-chat answer or verified identity) through the SMTP account of the
inbox's `reply_email_inbox_id`, once, with the reply's files attached. The job runs when the
reply is committed (the outbox relay enqueues it, one job per reply) and defers itself to the
end of the grace period.

Sending follows the rule of app.messages.jobs: the attempt, with its Message-ID, is
committed before anything leaves and its outcome after, so a retry after a crash sends
again with the same Message-ID (the receiving side drops the second copy) and a reply
already emailed is never emailed again.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from arq import Retry
from sqlalchemy import select

from app.agents.models import Agent
from app.chat.models import ChatVisitor
from app.chat.port import ChatSettings
from app.db.engine import transaction
from app.inboxes.models import Inbox
from app.ingest.types import OutboundMessage, SenderIdentity
from app.messages.models import Message
from app.messages.outbound import outbound_attachments
from app.outbox.service import MESSAGE_CREATED
from app.tickets.models import Ticket

log = logging.getLogger(__name__)
MAX_EMAIL_TRIES = 8
EMAIL_COPY = "email_copy"  # channel_data key of the attempt


def offline_reply_jobs(payload: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """An agent's public reply stored as `sent` (chat replies are; the job checks the
    channel) may need emailing later."""
    if (
        payload.get("direction") == "outbound"
        and payload.get("author_type") == "agent"
        and not payload.get("internal", False)
        and payload.get("status") == "sent"
        and isinstance(payload.get("message_id"), int)
    ):
        return [("email_offline_visitor", {"message_id": payload["message_id"]})]
    return []


TOPICS = {MESSAGE_CREATED: offline_reply_jobs}


def _retry_delay(job_try: int) -> int:
    return int(min(10 * 2 ** (job_try - 1), 1800))


async def email_offline_visitor(ctx: dict[str, Any], *, message_id: int) -> str:
    sessionmaker, clock = ctx["sessionmaker"], ctx["clock"]
    job_try = int(ctx.get("job_try", 1))
    async with transaction(sessionmaker) as session:
        message = await session.get(Message, message_id, with_for_update=True)
        ticket = await session.get(Ticket, message.ticket_id) if message else None
        if message is None or ticket is None or ticket.channel != "chat":
            return "skipped"
        attempt = dict(message.channel_data.get(EMAIL_COPY) or {})
        if attempt.get("outcome") in ("sent", "failed"):
            return "already emailed" if attempt["outcome"] == "sent" else "failed"
        if not attempt and message.status != "sent":
            return "seen"  # a visitor socket got it: they were there
        chat_inbox = await session.get(Inbox, ticket.inbox_id) if ticket.inbox_id else None
        if chat_inbox is None:
            return "skipped"
        grace = timedelta(
            seconds=chat_inbox.settings.get("email_after_seconds", ChatSettings.email_after_seconds)
        )
        wait = message.created_at + grace - clock()
        if not attempt and wait > timedelta(0):
            # The visitor may come back meanwhile; ask again when the grace is over.
            raise Retry(defer=wait + timedelta(seconds=0.5))
        mail_inbox_id = chat_inbox.settings.get("reply_email_inbox_id")
        mail_inbox = await session.get(Inbox, mail_inbox_id) if mail_inbox_id else None
        if mail_inbox is None or mail_inbox.channel != "email" or not mail_inbox.is_active:
            if mail_inbox_id:
                log.warning(
                    "chat inbox %s: reply_email_inbox_id is no email inbox", ticket.inbox_id
                )
            return "no email inbox"
        address = attempt.get("to") or await _visitor_email(session, ticket)
        if address is None:
            return "no address"
        agent_name = (
            await session.scalar(select(Agent.name).where(Agent.id == message.author_agent_id))
            if message.author_agent_id
            else None
        )
        outbound = OutboundMessage(
            message_id=message.id,
            ticket_id=ticket.id,
            ticket_number=ticket.number,
            channel="email",
            inbox_id=mail_inbox.id,
            recipient=SenderIdentity("email", address),
            subject=f"Re: {ticket.subject}"
            if ticket.subject
            else f"Your chat with {chat_inbox.name}",
            text=(
                f"{agent_name or chat_inbox.name} answered your chat while you were away:\n\n"
                f"{message.body_text}\n"
            ),
            html=None,
            attachments=(
                await outbound_attachments(session, [message.id], store=ctx["attachment_store"])
            ).get(message.id, ()),
        )
        sender = ctx["senders"].get("email")
        if sender is None:
            return "no email adapter"
        settings = dict(mail_inbox.settings)
        secrets = (
            ctx["secret_box"].open(mail_inbox.secrets_encrypted)
            if mail_inbox.secrets_encrypted
            else {}
        )
        external_id = attempt.get("external_id") or sender.new_external_id(
            outbound, inbox_settings=settings
        )
        attempt = {
            "to": address,
            "external_id": external_id,
            "started_at": clock().isoformat(),
            "outcome": None,
            "resend": bool(attempt),  # an earlier try stopped without an outcome
        }
        message.channel_data = {**message.channel_data, EMAIL_COPY: attempt}
    # Committed: a crash from here on resends with the same Message-ID.

    result = await sender.send(
        outbound, inbox_settings=settings, secrets=secrets, external_id=external_id
    )
    temporary = result.retry and job_try < MAX_EMAIL_TRIES
    outcome = "failed" if result.retry or result.status == "failed" else "sent"
    async with transaction(sessionmaker) as session:
        message = await session.get(Message, message_id, with_for_update=True)
        assert message is not None
        # A temporary failure leaves the attempt open: the next try sends with its id.
        finished = {**attempt, "outcome": None if temporary else outcome}
        message.channel_data = {
            **message.channel_data,
            EMAIL_COPY: {**finished, "reason": result.failure_reason},
        }
    if temporary:
        log.warning(
            "message %s: emailing the visitor failed (%s)", message_id, result.failure_reason
        )
        raise Retry(defer=_retry_delay(job_try))
    return "emailed" if outcome == "sent" else "failed"


async def _visitor_email(session: Any, ticket: Ticket) -> str | None:
    """The address the visitor gave (pre-chat form) or the site vouched for, the most
    recent visitor of the conversation's contact first."""
    email: str | None = await session.scalar(
        select(ChatVisitor.email)
        .where(
            ChatVisitor.inbox_id == ticket.inbox_id,
            ChatVisitor.contact_id == ticket.contact_id,
            ChatVisitor.email.is_not(None),
        )
        .order_by(ChatVisitor.last_seen_at.desc(), ChatVisitor.id.desc())
        .limit(1)
    )
    return email
