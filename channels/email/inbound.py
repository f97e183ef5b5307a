"""A parsed email as the domain's `InboundMessage` (pure)."""

from __future__ import annotations

from datetime import datetime

from app.ingest.types import InboundAttachment, InboundMessage, SenderIdentity, ThreadHints
from channels.email.parse import ParsedEmail, thread_hints
from channels.email.settings import EmailInboxSettings

# contacts.name is VARCHAR(200): a longer display name (hostile or just verbose) is cut,
# not a reason to refuse the message.
NAME_LENGTH = 200


def to_inbound(
    parsed: ParsedEmail, *, inbox_id: int, settings: EmailInboxSettings, received_at: datetime
) -> InboundMessage:
    sender = parsed.from_address or parsed.reply_to
    if sender is None:
        raise ValueError("the message has no usable From or Reply-To address")
    ours = {settings.address, sender}
    participants = tuple(a for a in dict.fromkeys((*parsed.to, *parsed.cc)) if a not in ours)
    hints = thread_hints(parsed)
    replies_to = hints.replies_to
    if parsed.bounce and parsed.bounce.original_message_id:
        # A bounce belongs on the ticket of the reply that bounced.
        replies_to = (parsed.bounce.original_message_id, *replies_to)
    return InboundMessage(
        channel="email",
        inbox_id=inbox_id,
        sender=(SenderIdentity("email", sender),),
        sender_name=parsed.from_name[:NAME_LENGTH] if parsed.from_name else None,
        external_id=parsed.message_id,
        subject=parsed.subject or None,
        # Agents read the new text; the quoted history is kept alongside.
        text=parsed.new_text or parsed.text,
        html=parsed.html,
        thread=ThreadHints(
            replies_to=replies_to,
            ticket_number=hints.ticket_number,
            reopen_closed=settings.closed_ticket_reply == "reopen",
            same_domain_participants=settings.same_domain_participants,
        ),
        attachments=tuple(
            InboundAttachment(a.filename, a.content_type, a.data, a.content_id, a.inline)
            for a in parsed.attachments
        ),
        received_at=received_at,
        sent_at=parsed.date,
        automated=parsed.auto_submitted or parsed.bounce is not None,
        auto_reply=parsed.auto_reply,
        participants=participants,
        channel_data={
            "message_id": parsed.message_id,
            "quoted_text": parsed.quoted_text,
            "headers": parsed.headers,
            "date": parsed.date.isoformat() if parsed.date else None,
        },
    )
