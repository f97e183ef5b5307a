"""Removing a contact: deleting one that never wrote in, or merging it into another.

Both lock the contact rows first (see `_lock_contacts`), so they cannot race a new ticket
or a second merge of the same pair.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, exists, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.service import check_id
from app.audit.service import record
from app.contacts.models import Contact, ContactIdentity
from app.contacts.service.contacts import audit_snapshot, get_contact
from app.errors import Conflict, NotFound, ValidationFailed
from app.messages.models import Message
from app.outbox.service import CONTACT_MERGED, emit
from app.tickets.events import SYSTEM, EventActor
from app.tickets.lifecycle import move_contact_tickets
from app.tickets.models import Ticket


async def _lock_contacts(session: AsyncSession, *ids: int) -> dict[int, Contact]:
    """Row locks in id order, so two merges of the same pair cannot deadlock."""
    rows = await session.scalars(
        select(Contact)
        .where(Contact.id.in_(ids))
        .order_by(Contact.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return {c.id: c for c in rows}


async def do_delete_contact(
    session: AsyncSession, *, actor_id: int | None, contact_id: int
) -> None:
    """Only a contact with no tickets and no messages; otherwise merge it instead.

    The row lock makes a concurrent ticket insert wait (its foreign key check needs a
    share lock on the row), so the emptiness check cannot be overtaken.
    """
    if contact_id not in await _lock_contacts(session, check_id("contact", contact_id)):
        raise NotFound(f"contact {contact_id} does not exist")
    contact = await get_contact(session, contact_id)
    tickets = await session.scalar(
        select(func.count()).select_from(Ticket).where(Ticket.contact_id == contact_id)
    )
    if tickets:
        raise Conflict(
            f"contact {contact_id} has {tickets} ticket(s); merge it into another contact instead",
            code="contact_has_tickets",
        )
    if await session.scalar(select(exists().where(Message.author_contact_id == contact_id))):
        raise Conflict(
            f"contact {contact_id} wrote messages on other tickets; merge it instead",
            code="contact_has_messages",
        )
    before = audit_snapshot(contact)
    # Contacts merged into this one are empty shells that only point here. Core deletes:
    # the database cascades to identities (the ORM would try to orphan them instead).
    merged = (
        await session.scalars(
            delete(Contact).where(Contact.merged_into_id == contact_id).returning(Contact.id)
        )
    ).all()
    await session.execute(delete(Contact).where(Contact.id == contact_id))
    record(
        session,
        actor_id=actor_id,
        action="contact.deleted",
        entity_type="contact",
        entity_id=contact_id,
        before={**before, "merged_contact_ids": sorted(merged)},
    )


def _fill_missing(target: Contact, source: Contact) -> None:
    for field in ("name", "email", "phone", "locale", "time_zone", "account_id"):
        if getattr(target, field) is None and getattr(source, field) is not None:
            setattr(target, field, getattr(source, field))
    target.custom_fields = {**source.custom_fields, **target.custom_fields}


async def do_merge_contacts(
    session: AsyncSession,
    *,
    actor_id: int | None,
    source_id: int,
    target_id: int,
    now: datetime,
) -> Contact:
    """Move everything of `source` to `target`; the source stays as an empty pointer.

    Identities, tickets (and their account where they had none) and messages the source
    wrote move over; profile fields the target lacks are taken from the source.
    """
    if source_id == target_id:
        raise ValidationFailed.field("into_id", "a contact cannot be merged into itself")
    locked = await _lock_contacts(session, check_id("contact", source_id), target_id)
    if source_id not in locked:
        raise NotFound(f"contact {source_id} does not exist")
    if target_id not in locked:
        raise ValidationFailed.field("into_id", f"no contact with id {target_id}")
    source, target = locked[source_id], locked[target_id]
    if source.merged_into_id is not None:
        raise Conflict(
            f"contact {source_id} was already merged into contact {source.merged_into_id}",
            code="contact_merged",
        )
    if target.merged_into_id is not None:
        raise Conflict(
            f"into_id: contact {target_id} was merged into contact {target.merged_into_id}; "
            "merge into that one",
            code="contact_merged",
        )
    target = await get_contact(session, target_id)
    before = audit_snapshot(target)
    _fill_missing(target, source)
    await session.flush()

    no_sync = {"synchronize_session": False}
    identity_ids = (
        await session.scalars(
            update(ContactIdentity)
            .where(ContactIdentity.contact_id == source_id)
            .values(contact_id=target_id)
            .returning(ContactIdentity.id),
            execution_options=no_sync,
        )
    ).all()
    ticket_ids = await move_contact_tickets(
        session,
        source_contact_id=source_id,
        target_contact_id=target_id,
        target_account_id=target.account_id,
        actor=EventActor.agent(actor_id) if actor_id is not None else SYSTEM,
        now=now,
    )
    messages = await session.execute(
        update(Message)
        .where(Message.author_contact_id == source_id)
        .values(author_contact_id=target_id),
        execution_options=no_sync,
    )
    # Contacts merged into the source earlier now point at the final target directly.
    await session.execute(
        update(Contact).where(Contact.merged_into_id == source_id).values(merged_into_id=target_id),
        execution_options=no_sync,
    )
    source.merged_into_id = target_id
    await session.flush()

    target = await get_contact(session, target_id)
    moved = {
        "merged_contact_id": source_id,
        "identity_ids": sorted(identity_ids),
        "ticket_ids": sorted(ticket_ids),
        # A count: a long-time customer can have written thousands of messages.
        "message_count": messages.rowcount,  # type: ignore[attr-defined]
    }
    record(
        session,
        actor_id=actor_id,
        action="contact.merged",
        entity_type="contact",
        entity_id=target_id,
        before=before,
        after={**audit_snapshot(target), **moved},
    )
    emit(
        session,
        topic=CONTACT_MERGED,
        payload={"source_id": source_id, "target_id": target_id, **moved},
    )
    return target
