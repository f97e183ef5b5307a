"""The port every channel speaks: frozen messages in and out of the domain.

Adapters in `channels/` build `InboundMessage`s and send `OutboundMessage`s; the domain
never imports a channel.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol


@dataclass(frozen=True)
class SenderIdentity:
    kind: str  # email, phone, whatsapp, telegram, messenger, instagram, widget
    address: str


@dataclass(frozen=True)
class InboundAttachment:
    filename: str
    content_type: str
    data: bytes
    content_id: str | None = None
    inline: bool = False


@dataclass(frozen=True)
class ThreadHints:
    """What the channel knows about which conversation this continues."""

    # External ids (e.g. email Message-IDs) this message replies to, nearest first.
    replies_to: tuple[str, ...] = ()
    # A ticket number the sender quoted, e.g. from "[#1042]" in a subject.
    ticket_number: int | None = None
    # Chat and social: keep adding to the contact's open ticket in this inbox.
    continue_open_conversation: bool = False
    # A reply to a closed ticket reopens it instead of opening a linked follow-up.
    reopen_closed: bool = False
    # A quoted ticket number also admits senders whose address shares the requester's domain
    # (never a free-mail or ISP domain); they join as CC, not as requester.
    same_domain_participants: bool = False
    # False: join an existing conversation or nothing (an auto-reply to mail we do not
    # have); ingest then raises `Unthreaded` and stores nothing.
    may_open_ticket: bool = True


@dataclass(frozen=True)
class InboundMessage:
    channel: str
    inbox_id: int | None
    sender: tuple[SenderIdentity, ...]  # the first is the address we answer to
    external_id: str
    text: str = ""
    html: str | None = None
    subject: str | None = None
    sender_name: str | None = None
    thread: ThreadHints = field(default_factory=ThreadHints)
    attachments: tuple[InboundAttachment, ...] = ()
    received_at: datetime | None = None
    # When the sender says they wrote it (email: Date); the timeline is ordered by it.
    sent_at: datetime | None = None
    # Auto-replies and other machine mail: recorded, but they never reopen or trigger replies.
    automated: bool = False
    # An automatic answer to another message (RFC 3834 auto-replied, an out-of-office), on
    # any channel: it joins the conversation it answers or opens nothing; the inbound store
    # keeps it aside until that conversation's message arrives.
    auto_reply: bool = False
    # Other people on the conversation (email CC); they become the ticket's participants.
    participants: tuple[str, ...] = ()
    channel_data: dict[str, Any] = field(default_factory=dict)

    @property
    def may_open_ticket(self) -> bool:
        return self.thread.may_open_ticket and not self.auto_reply


@dataclass(frozen=True)
class OutboundAttachment:
    filename: str
    content_type: str
    path: str  # where the content is stored under the data dir


@dataclass(frozen=True)
class OutboundMessage:
    message_id: int
    ticket_id: int
    ticket_number: int
    channel: str
    inbox_id: int | None
    recipient: SenderIdentity
    subject: str
    text: str
    html: str | None
    attachments: tuple[OutboundAttachment, ...] = ()
    # External ids of earlier messages of the thread, oldest first (email References).
    thread_external_ids: tuple[str, ...] = ()
    # The customer's message this answers (email In-Reply-To); None: the newest of the thread.
    in_reply_to: str | None = None
    automated: bool = False


@dataclass(frozen=True)
class DeliveryResult:
    status: str  # "sent", "delivered" or "failed"
    external_id: str | None = None
    failure_reason: str | None = None
    retry: bool = False  # a temporary failure: try again later


class ChannelSender(Protocol):
    """Implemented by each channel adapter that can send."""

    def new_external_id(
        self, message: OutboundMessage, *, inbox_settings: dict[str, Any]
    ) -> str | None:
        """The id the provider will know this message by, when the sender chooses it (email:
        the Message-ID). The job records it before the first try, so every try carries it,
        a resend after a worker died mid-send included, and the receiving side recognises a
        second copy. None when the provider assigns ids (such a resend may then show twice)."""
        ...

    async def send(
        self,
        message: OutboundMessage,
        *,
        inbox_settings: dict[str, Any],
        secrets: dict[str, Any],
        external_id: str | None,
    ) -> DeliveryResult: ...
