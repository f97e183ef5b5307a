"""Merging two contacts: one person written in twice becomes one, with all conversations.

It lives with the tickets because most of what moves are conversations: the source's
tickets (each through the lifecycle, with its event) and the messages it wrote on other
tickets. The contacts domain does its own part (`merge_records`: identities, profile, the
pointer); the source stays as an empty pointer at the target.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit.service import record
from app.contacts.models import Contact
from app.contacts.service.contacts import audit_snapshot, get_contact
from app.contacts.service.merge import lock_pair_for_merge, merge_records
from app.messages.models import Message
from app.outbox.service import CONTACT_MERGED, emit
from app.tickets.events import SYSTEM, EventActor
from app.tickets.lifecycle import move_contact_tickets


async def do_merge_contacts(
    session: AsyncSession,
    *,
    actor_id: int | None,
    source_id: int,
    target_id: int,
    now: datetime,
) -> Contact:
    """Move everything of `source` to `target`: identities, tickets (and their account
    where they had none), the messages it wrote; profile fields the target lacks."""
    source, target = await lock_pair_for_merge(session, source_id=source_id, target_id=target_id)
    before = audit_snapshot(target)
    identity_ids = await merge_records(session, source=source, target=target)
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
        execution_options={"synchronize_session": False},
    )
    target = await get_contact(session, target_id)
    moved = {
        "merged_contact_id": source_id,
        "identity_ids": identity_ids,
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
