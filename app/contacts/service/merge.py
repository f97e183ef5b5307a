"""Removing a contact: deleting one that never wrote in, or merging it into another.

Both lock the contact rows first (see `lock_contacts`), so they cannot race a new ticket
or a second merge of the same pair. A merge moves the contact's conversations too; that
part is the tickets domain's (app.tickets.contact_merge), which calls `merge_records`
here for what belongs to contacts.
"""

from __future__ import annotations

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.service import check_id
from app.audit.service import record
from app.contacts.models import Contact, ContactIdentity
from app.contacts.service.contacts import audit_snapshot, get_contact
from app.errors import Conflict, NotFound, ValidationFailed

# What keeps a contact alive, by the foreign key the database refuses the delete with.
IN_USE = {
    "fk_tickets_contact_id_contacts": (
        "contact_has_tickets",
        "contact {id} has tickets; merge it into another contact instead",
    ),
    "fk_messages_author_contact_id_contacts": (
        "contact_has_messages",
        "contact {id} wrote messages on other tickets; merge it instead",
    ),
}


async def lock_contacts(session: AsyncSession, *ids: int) -> dict[int, Contact]:
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

    The database's foreign keys decide, in the same statement as the delete, so no
    ticket created meanwhile can be orphaned.
    """
    if contact_id not in await lock_contacts(session, check_id("contact", contact_id)):
        raise NotFound(f"contact {contact_id} does not exist")
    contact = await get_contact(session, contact_id)
    before = audit_snapshot(contact)
    try:
        async with session.begin_nested():
            # Contacts merged into this one are empty shells that only point here. Core
            # deletes: the database cascades to identities (the ORM would orphan them).
            merged = (
                await session.scalars(
                    delete(Contact)
                    .where(Contact.merged_into_id == contact_id)
                    .returning(Contact.id)
                )
            ).all()
            await session.execute(delete(Contact).where(Contact.id == contact_id))
    except IntegrityError as exc:
        constraint = getattr(getattr(exc.orig, "__cause__", None), "constraint_name", None)
        if constraint not in IN_USE:
            raise
        code, detail = IN_USE[constraint]
        raise Conflict(detail.format(id=contact_id), code=code) from None
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


async def lock_pair_for_merge(
    session: AsyncSession, *, source_id: int, target_id: int
) -> tuple[Contact, Contact]:
    """Both contacts, locked, after checking a merge of `source` into `target` makes sense."""
    if source_id == target_id:
        raise ValidationFailed.field("into_id", "a contact cannot be merged into itself")
    locked = await lock_contacts(session, check_id("contact", source_id), target_id)
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
    return source, await get_contact(session, target_id)


async def merge_records(session: AsyncSession, *, source: Contact, target: Contact) -> list[int]:
    """The contacts' part of a merge: profile fields the target lacks come from the source,
    the source's identities move over, and the source (and contacts merged into it before)
    points at the target. Returns the moved identities' ids."""
    _fill_missing(target, source)
    await session.flush()
    no_sync = {"synchronize_session": False}
    identity_ids = (
        await session.scalars(
            update(ContactIdentity)
            .where(ContactIdentity.contact_id == source.id)
            .values(contact_id=target.id)
            .returning(ContactIdentity.id),
            execution_options=no_sync,
        )
    ).all()
    # Contacts merged into the source earlier now point at the final target directly.
    await session.execute(
        update(Contact).where(Contact.merged_into_id == source.id).values(merged_into_id=target.id),
        execution_options=no_sync,
    )
    source.merged_into_id = target.id
    await session.flush()
    return sorted(identity_ids)
