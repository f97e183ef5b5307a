"""Which ticket an inbound message continues.

In order: the messages it replies to (by external id, in the same inbox), then a ticket
number it quotes (only if the sender belongs on that ticket), then, for conversational
channels, the contact's open conversation in the inbox. Never by subject text alone.
A closed ticket is not reopened unless the inbox says so: the message opens a new ticket
linked to it. A sender who quotes a ticket number they do not belong on gets a new ticket
linked to the quoted one.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.contacts.models import Contact
from app.ingest.types import InboundMessage
from app.messages.models import Message
from app.tickets.models import Ticket
from app.tickets.participants import participant_addresses

OPEN_STATUSES = ("new", "open", "pending", "on_hold")


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


async def _by_replies(session: AsyncSession, inbound: InboundMessage) -> Ticket | None:
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
    for external_id in inbound.thread.replies_to:  # nearest reference first
        if external_id in ticket_of:
            return await _locked(session, ticket_of[external_id])
    return None


def _domain(address: str | None) -> str | None:
    return address.rsplit("@", 1)[1].lower() if address and "@" in address else None


async def sender_belongs_on(
    session: AsyncSession, ticket: Ticket, contact: Contact, inbound: InboundMessage
) -> bool:
    """The requester, a participant (CC'd earlier), someone of the same account, or, when
    the inbox allows it, an address of the requester's email domain."""
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
        return domain is not None and any(_domain(a) == domain for a in addresses)
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


async def find_thread(
    session: AsyncSession, inbound: InboundMessage, *, contact: Contact
) -> tuple[Ticket | None, int | None]:
    """(ticket to add to, or None for a new one; the ticket a new one should link to)."""
    ticket, stranger_quoted = await _by_replies(session, inbound), None
    if ticket is None:
        ticket, stranger_quoted = await _by_number(session, inbound, contact)
    if ticket is not None:  # locked, and so is the one it was merged into
        ticket = await _follow_merges(session, ticket)
        if ticket.status == "closed" and not inbound.thread.reopen_closed:
            return None, ticket.id
        return ticket, None
    if stranger_quoted is not None:
        return None, stranger_quoted
    return await _open_conversation(session, inbound, contact), None
