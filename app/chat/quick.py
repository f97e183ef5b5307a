"""A visitor writing again on their open conversation, in two round trips.

One statement reads everything the decision needs (the ticket and its row version, the
visitor, the contact, whether the client id is stored already, whether a newer open
conversation exists, what the lifecycle's hooks read), and one statement writes (see
`app.tickets.lifecycle.quick`). Neither runs inside BEGIN/COMMIT: the write is a single
statement, atomic by itself, and applies only to the ticket as it was read.

Whatever would make the full path (`do_visitor_message`) do more than that answers None
and the caller takes the full path: a first message, attachments, a ticket to reopen, a
visitor blocked or unknown, a contact to update or merged, an identity to attach, a newer
conversation, a target met. The full path stays the reference; this one must store what
it would have stored.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BindParameter, bindparam, func, literal, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from app.chat.messages import LAST_SEEN_RESOLUTION, external_id
from app.chat.models import ChatVisitor
from app.chat.service import visitor_identities
from app.contacts.models import Contact, ContactIdentity
from app.db.engine import SessionMaker
from app.ingest.threading import OPEN_STATUSES
from app.messages.models import Message
from app.tickets.hooks import QuietDerivation, hooks_of
from app.tickets.lifecycle import NewMessage
from app.tickets.lifecycle.quick import QuietAppended, append_quietly, quiet, ticket_of, ticket_read
from app.tickets.models import Ticket

# Reads and writes before giving up to the full path, when the ticket keeps changing
# between them (each retry is one more read and one more write).
ATTEMPTS = 3
DUPLICATE_CONSTRAINT = "uq_messages_inbox_id_external_id"


@dataclass(frozen=True)
class QuickMessage:
    ticket_id: int
    message_id: int
    seq: int
    # The message was stored before (a resend): nothing was written.
    duplicate: bool
    # The events written, for this node's sockets (the relay's copy follows).
    events: tuple[QuietAppended, ...] = ()


async def quick_visitor_message(
    sessionmaker: SessionMaker,
    *,
    visitor_id: int,
    visitor_key: str,
    inbox_id: int,
    ticket_id: int,
    client_id: str,
    body: str,
    now: datetime,
) -> QuickMessage | None:
    """Store a text message of the visitor on `ticket_id` (their latest conversation, as
    their socket knows it); None: take the full path."""
    if not isinstance(sessionmaker.kw.get("bind"), AsyncEngine):
        return None  # sessions joined to a caller's transaction (tests): no autocommit
    external = external_id(ChatVisitor(key=visitor_key), client_id)
    for _ in range(ATTEMPTS):
        async with sessionmaker() as session:
            # No BEGIN: each statement is its own transaction.
            await session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
            hooks = hooks_of(session).quiet_message
            if hooks is None:
                return None
            derivation = await hooks.prepare(session)
            params = {
                "ticket_id": ticket_id,
                "visitor_id": visitor_id,
                "external": external,
                "now": now,
                "seen_before": now - LAST_SEEN_RESOLUTION,
            }
            row = (await session.execute(_read(derivation), params)).mappings().first()
            if row is None or row["visitor_blocked"] is not False:
                return None  # no such ticket, or the visitor is gone or blocked
            stored = row["stored"]
            if stored is not None:
                return QuickMessage(stored["ticket_id"], stored["id"], stored["seq"], True)
            ticket = ticket_of(row)
            if not _continues(row, ticket, inbox_id=inbox_id, visitor_key=visitor_key):
                return None
            seq = ticket.last_seq + 1
            derived = derivation.derive(ticket, row, seq=seq, now=now)
            if derived is None:
                return None
            new = NewMessage(
                direction="inbound",
                author_type="contact",
                author_contact_id=ticket.contact_id,
                body_text=body,
                inbox_id=inbox_id,
                external_id=external,
                status="received",
                channel_data={
                    "client_id": client_id,
                    **({"pre_chat": row["visitor_pre_chat"]} if row["visitor_pre_chat"] else {}),
                    "automated": False,
                },
            )
            try:
                appended = await append_quietly(
                    session, ticket, row["row_version"], new, derived, now=now
                )
            except IntegrityError as exc:
                if DUPLICATE_CONSTRAINT not in str(exc.orig):
                    raise
                continue  # a resend racing this one was stored first: the next read says so
            if appended is None:
                continue  # the ticket changed since it was read
            return QuickMessage(ticket.id, appended.message_id, appended.seq, False, (appended,))
    return None


# The read, built once per shape of the hooks' columns (SQLAlchemy then reuses its
# compiled form, and asyncpg its prepared statement): the values are bound parameters.
_READS: dict[tuple[str, ...], Any] = {}
_NEWER = Ticket.__table__.alias("newer")


def _read(derivation: QuietDerivation) -> Any:
    """The one read. It also keeps the visitor's `last_seen_at`, at most once a minute
    as the full path does, so that costs no round trip of its own. Parameters:
    ticket_id, visitor_id, external, now, seen_before."""
    extra = tuple(derivation.reads())
    shape = tuple(c.key or "" for c in extra)
    found = _READS.get(shape)
    if found is not None:
        return found
    visitor_id: BindParameter[Any] = bindparam("visitor_id")
    seen = (
        update(ChatVisitor)
        .where(
            ChatVisitor.id == visitor_id,
            ChatVisitor.is_blocked.is_(False),
            ChatVisitor.last_seen_at < bindparam("seen_before"),
        )
        .values(last_seen_at=bindparam("now"))
        .returning(ChatVisitor.id)
        .cte("seen")
    )
    message = func.json_build_object(
        "id", Message.id, "ticket_id", Message.ticket_id, "seq", Message.seq, type_=JSON
    )
    stored = (
        select(message)
        .where(Message.inbox_id == Ticket.inbox_id, Message.external_id == bindparam("external"))
        .scalar_subquery()
    )
    newer_open = (
        select(literal(True))
        .where(
            _NEWER.c.contact_id == Ticket.contact_id,
            _NEWER.c.inbox_id == Ticket.inbox_id,
            _NEWER.c.status.in_(OPEN_STATUSES),
            _NEWER.c.id > Ticket.id,
        )
        .exists()
    )
    owned = (
        select(func.array_agg(ContactIdentity.kind + ":" + ContactIdentity.value))
        .where(ContactIdentity.contact_id == Ticket.contact_id)
        .scalar_subquery()
    )
    found = _READS[shape] = (
        ticket_read(bindparam("ticket_id"))
        .add_columns(
            ChatVisitor.is_blocked.label("visitor_blocked"),
            ChatVisitor.inbox_id.label("visitor_inbox_id"),
            ChatVisitor.contact_id.label("visitor_contact_id"),
            ChatVisitor.user_id.label("visitor_user_id"),
            ChatVisitor.email.label("visitor_email"),
            ChatVisitor.name.label("visitor_name"),
            ChatVisitor.pre_chat.label("visitor_pre_chat"),
            ChatVisitor.last_seen_at.label("visitor_last_seen_at"),
            Contact.name.label("contact_name"),
            Contact.merged_into_id.label("contact_merged_into_id"),
            stored.label("stored"),
            newer_open.label("newer_open"),
            owned.label("owned_identities"),
            select(func.count()).select_from(seen).scalar_subquery().label("seen"),
            *extra,
        )
        .join_from(Ticket, ChatVisitor, ChatVisitor.id == visitor_id, isouter=True)
        .join_from(Ticket, Contact, Contact.id == Ticket.contact_id, isouter=True)
    )
    return found


def _continues(row: Mapping[Any, Any], ticket: Ticket, *, inbox_id: int, visitor_key: str) -> bool:
    """The full path would append to this ticket and change nothing else: ingest finds
    this contact by the visitor's addresses and attaches none, threads onto this ticket
    (the contact's newest open one in the inbox), and the message changes no field."""
    visitor = ChatVisitor(
        key=visitor_key, user_id=row["visitor_user_id"], email=row["visitor_email"]
    )
    owned = set(row["owned_identities"] or ())
    return (
        quiet(ticket)
        and ticket.inbox_id == inbox_id == row["visitor_inbox_id"]
        and row["visitor_contact_id"] == ticket.contact_id
        and row["contact_merged_into_id"] is None
        and not row["newer_open"]
        and all(f"{i.kind}:{i.value}" in owned for i in visitor_identities(visitor))
        and (not row["visitor_name"] or bool(row["contact_name"]))
    )
