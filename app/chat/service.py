"""Widget visitors: the inbox behind a public key, its public config, sessions (signed
tokens, identity verification, pre-chat answers) and the conversations a visitor reaches.

A visitor reaches exactly the chat tickets of this inbox whose contact is their own; an
anonymous visitor's contact is theirs alone (its only address is the visitor's `widget`
identity), and a verified one's is the contact of their verified email, which is how the
same person writing by email and by chat is one contact.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.agents.models import Agent, team_members
from app.agents.service.presence import online_on
from app.chat.models import ChatVisitor
from app.chat.port import ChatChannel, ChatSettings, PreChatField, VerifiedIdentity
from app.chat.schemas import (
    WidgetAttachmentLimitsOut,
    WidgetColorsOut,
    WidgetConfigOut,
    WidgetPreChatFieldOut,
)
from app.chat.tokens import visitor_key_of, visitor_token
from app.contacts.identities import Identity, attach_identities
from app.contacts.models import Contact
from app.errors import FieldError, NotFound, PermissionDenied, ValidationFailed
from app.inboxes.models import Inbox
from app.inboxes.service import inbox_secrets
from app.security.crypto import SecretBox
from app.sla.models import SlaCalendar
from app.sla.port import SlaEngine
from app.tickets.models import Ticket

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MAX_ANSWER = 1000
BUILTIN_FIELDS = {
    "name": PreChatField(name="name", label="Name", type="text"),
    "email": PreChatField(name="email", label="Email", type="email"),
}


@dataclass(frozen=True)
class ChatInbox:
    inbox: Inbox
    settings: ChatSettings


async def chat_inbox(
    session: AsyncSession, public_key: str, *, chat: ChatChannel, box: SecretBox
) -> ChatInbox:
    """The active chat inbox with this public key, its settings read; 404 otherwise."""
    inbox = None
    if isinstance(public_key, str) and 0 < len(public_key) <= 40:
        inbox = await session.scalar(
            select(Inbox).where(
                Inbox.public_key == public_key, Inbox.channel == "chat", Inbox.is_active.is_(True)
            )
        )
    if inbox is None:
        raise NotFound("no active chat inbox has this key", code="inbox_not_found")
    return ChatInbox(inbox, chat_settings_of(inbox, chat=chat, box=box))


def chat_settings_of(inbox: Inbox, *, chat: ChatChannel, box: SecretBox) -> ChatSettings:
    try:
        secrets = inbox_secrets(inbox, box)
    except ValueError:
        secrets = {}  # undecryptable (the key changed): no identity verification until reset
    return chat.read_settings({**inbox.settings, **secrets})


def check_origin(settings: ChatSettings, origin: str | None) -> None:
    if not settings.allows_origin(origin):
        raise PermissionDenied(
            f"the origin {origin} may not use this inbox's widget", code="origin_not_allowed"
        )


async def chat_is_open(
    session: AsyncSession, chat_inbox: ChatInbox, *, engine: SlaEngine, now: datetime
) -> bool:
    """Within the inbox's business hours (always, without a calendar) and an agent online:
    otherwise the widget offers to reply by email."""
    calendar_id = chat_inbox.settings.calendar_id
    if calendar_id is not None:
        calendar = await session.get(SlaCalendar, calendar_id)
        # A calendar deleted since counts as none (the inbox API refuses unknown ones).
        if calendar is not None and not engine.is_open(calendar, now):
            return False
    return await agents_online(session, chat_inbox.inbox)


async def agents_online(session: AsyncSession, inbox: Inbox) -> bool:
    """An active agent is online on chat: of the inbox's team when it has one, else anyone."""
    online = select(Agent.id).where(Agent.is_active.is_(True), online_on("chat"))
    if inbox.team_id is not None:
        online = online.where(
            exists().where(
                team_members.c.agent_id == Agent.id, team_members.c.team_id == inbox.team_id
            )
        )
    return bool(await session.scalar(select(exists(online))))


def widget_config(chat_inbox: ChatInbox, *, online: bool) -> WidgetConfigOut:
    settings = chat_inbox.settings
    return WidgetConfigOut(
        inbox=chat_inbox.inbox.public_key,
        name=chat_inbox.inbox.name,
        colors=WidgetColorsOut(
            accent=settings.accent_color, accent_text=settings.accent_text_color
        ),
        greeting=settings.greeting,
        locale=settings.locale,
        pre_chat_fields=[
            WidgetPreChatFieldOut(name=f.name, label=f.label, type=f.type, required=f.required)
            for f in settings.pre_chat_fields
        ],
        attachments=WidgetAttachmentLimitsOut(
            max_bytes=settings.max_attachment_bytes, types=list(settings.attachment_types)
        ),
        online=online,
        offline_text=settings.offline_text,
        identity_verification=settings.identity_secret is not None,
    )


def check_pre_chat(settings: ChatSettings, answers: Any) -> dict[str, str]:
    """The answers to the inbox's pre-chat form, each bad one named `pre_chat.<field>`."""
    if not isinstance(answers, dict):
        raise ValidationFailed.field("pre_chat", "must be an object of the form's answers")
    # `name` and `email` may always be given: the widget asks for an email when nobody is
    # online ("we reply by email"), whether or not the inbox's form has the field.
    known = {**BUILTIN_FIELDS, **{f.name: f for f in settings.pre_chat_fields}}
    errors = [
        FieldError(f"pre_chat.{name}"[:200], "is not a field of this form")
        for name in sorted(set(answers) - set(known))
    ]
    clean: dict[str, str] = {}
    for name, spec in known.items():
        value = answers.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            if spec.required:
                errors.append(FieldError(f"pre_chat.{name}", "is required"))
            continue
        if not isinstance(value, str) or len(value) > MAX_ANSWER or "\x00" in value:
            errors.append(
                FieldError(f"pre_chat.{name}", f"must be text of at most {MAX_ANSWER} characters")
            )
            continue
        if spec.type == "email" and not EMAIL.match(value.strip()):
            errors.append(FieldError(f"pre_chat.{name}", "must be an email address"))
            continue
        clean[name] = value.strip()
    if errors:
        raise ValidationFailed(*errors)
    return clean


async def visitor_for_token(
    session: AsyncSession, secret_key: str, token: str | None
) -> ChatVisitor | None:
    key = visitor_key_of(secret_key, token) if token else None
    if key is None:
        return None
    return await session.scalar(
        select(ChatVisitor).where(ChatVisitor.key == key, ChatVisitor.is_blocked.is_(False))
    )


async def _verified_visitor(
    session: AsyncSession, inbox: Inbox, current: ChatVisitor | None, identity: VerifiedIdentity
) -> ChatVisitor:
    """The site's signed-in user is one visitor on every device: theirs if they have one;
    else this browser's anonymous visitor becomes theirs (their conversation continues)."""
    mine = await session.scalar(
        select(ChatVisitor)
        .where(ChatVisitor.inbox_id == inbox.id, ChatVisitor.user_id == identity.user_id)
        .with_for_update()
    )
    if mine is None and current is not None and current.user_id is None:
        mine = current
    if mine is None:
        mine = ChatVisitor(inbox_id=inbox.id)
        session.add(mine)
    mine.user_id = identity.user_id
    mine.email = identity.email or mine.email
    mine.name = identity.name or mine.name
    return mine


async def do_start_session(
    session: AsyncSession,
    chat_inbox: ChatInbox,
    *,
    chat: ChatChannel,
    secret_key: str,
    origin: str | None,
    token: str | None,
    identity: Any,
    pre_chat: Any,
    now: datetime,
) -> tuple[ChatVisitor, str, Ticket | None]:
    """Start or continue a visitor; returns (visitor, token, their latest conversation).

    A token that is not valid (forged, another inbox's, from before a key change) starts a
    new anonymous visitor. A verified visitor's token continues only with that user's valid
    identity: on a shared computer the next person does not get the previous user's chat.
    """
    inbox, settings = chat_inbox.inbox, chat_inbox.settings
    check_origin(settings, origin)
    # The form is answered once; a visitor continuing with their token sends no answers.
    answers = check_pre_chat(settings, pre_chat) if pre_chat is not None else {}
    if identity is not None and not isinstance(identity, dict):
        raise ValidationFailed.field("identity", "must be an object: user_id, email, name, hmac")
    current = await visitor_for_token(session, secret_key, token)
    if current is not None and current.inbox_id != inbox.id:
        current = None
    verified = chat.verify_identity(settings, identity) if identity else None
    if verified is not None:
        visitor = await _verified_visitor(session, inbox, current, verified)
    elif current is not None and current.user_id is None:
        visitor = current
    else:
        visitor = ChatVisitor(inbox_id=inbox.id)
        session.add(visitor)
    if answers:
        visitor.pre_chat = {**(visitor.pre_chat or {}), **answers}
        visitor.name = visitor.name or answers.get("name")
        if visitor.user_id is None and "email" in answers:
            visitor.email = answers["email"].lower()  # a claim: never joins a contact
    visitor.last_seen_at = now
    await session.flush()
    if visitor.contact_id is not None and verified is not None and verified.email:
        contact = await session.get(Contact, visitor.contact_id)
        assert contact is not None
        await attach_identities(session, contact, [Identity.of("email", verified.email)])
    conversation = await latest_conversation(session, visitor)
    return visitor, visitor_token(secret_key, visitor.key), conversation


def visitor_identities(visitor: ChatVisitor) -> list[Identity]:
    """The addresses the visitor's contact is found by: their widget key, and their email
    only when the site verified it."""
    identities = [Identity.of("widget", visitor.key)]
    if visitor.user_id is not None and visitor.email:
        identities.append(Identity.of("email", visitor.email))
    return identities


async def visitor_contact_id(session: AsyncSession, visitor: ChatVisitor) -> int | None:
    """The visitor's contact, following contact merges."""
    contact_id = visitor.contact_id
    while contact_id is not None:
        merged = await session.scalar(
            select(Contact.merged_into_id).where(Contact.id == contact_id)
        )
        if merged is None:
            return contact_id
        contact_id = merged
    return None


def visitor_tickets_query(visitor: ChatVisitor, contact_id: int) -> Select[Ticket]:
    return select(Ticket).where(
        Ticket.contact_id == contact_id,
        Ticket.inbox_id == visitor.inbox_id,
        Ticket.channel == "chat",
        Ticket.merged_into_id.is_(None),
    )


async def visitor_ticket_ids(session: AsyncSession, visitor: ChatVisitor) -> Sequence[int]:
    """Every conversation the visitor may see (newest last)."""
    contact_id = await visitor_contact_id(session, visitor)
    if contact_id is None:
        return []
    stmt = visitor_tickets_query(visitor, contact_id).with_only_columns(Ticket.id)
    return list((await session.scalars(stmt.order_by(Ticket.id))).all())


async def latest_conversation(session: AsyncSession, visitor: ChatVisitor) -> Ticket | None:
    contact_id = await visitor_contact_id(session, visitor)
    if contact_id is None:
        return None
    stmt = visitor_tickets_query(visitor, contact_id).order_by(Ticket.id.desc()).limit(1)
    return await session.scalar(stmt)
