"""Resolving a channel address to one contact: the same person on two channels is one contact.

Addresses are normalised per kind so that `Ada@Example.com` and `ada@example.com`, or a
WhatsApp id and the phone number it is, meet on the same row.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import bindparam, select, tuple_
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import Account
from app.contacts.models import Contact, ContactIdentity
from app.errors import ValidationFailed
from app.inboxes.channels import IDENTITY_KINDS

# A WhatsApp id is a phone number; a contact known by phone is the same person.
EQUIVALENT_KINDS = {"whatsapp": "phone", "phone": "whatsapp"}


@dataclass(frozen=True)
class Identity:
    kind: str
    value: str

    @classmethod
    def of(cls, kind: str, value: str) -> Identity:
        if kind not in IDENTITY_KINDS:
            raise ValidationFailed.field("kind", f"unknown identity kind {kind!r}")
        normalized = normalize(kind, value)
        if not normalized:
            raise ValidationFailed.field(kind, "must not be empty")
        return cls(kind, normalized)


def normalize(kind: str, value: str) -> str:
    value = value.strip()
    if kind == "email":
        return value.lower()
    if kind in {"phone", "whatsapp"}:
        digits = re.sub(r"[^\d]", "", value)
        return f"+{digits}" if digits else ""
    return value


def _candidates(identities: Sequence[Identity]) -> list[tuple[str, str]]:
    pairs = [(i.kind, i.value) for i in identities]
    pairs += [(EQUIVALENT_KINDS[i.kind], i.value) for i in identities if i.kind in EQUIVALENT_KINDS]
    return pairs


# Built once (every ticket and message from a customer runs it): the (kind, value) pairs
# are one expanding parameter, so the statement's text and cache key never change.
OWNERS_QUERY = (
    select(ContactIdentity.kind, ContactIdentity.value, Contact)
    .join(Contact, Contact.id == ContactIdentity.contact_id)
    .where(
        tuple_(ContactIdentity.kind, ContactIdentity.value).in_(bindparam("pairs", expanding=True))
    )
)


async def _owners(
    session: AsyncSession, identities: Sequence[Identity]
) -> dict[tuple[str, str], Contact]:
    pairs = _candidates(identities)
    if not pairs:
        return {}
    rows = (await session.execute(OWNERS_QUERY, {"pairs": pairs})).all()
    return {(kind, value): contact for kind, value, contact in rows}


async def find_contact(session: AsyncSession, identities: Sequence[Identity]) -> Contact | None:
    """The contact owning any of these addresses (the first given wins on a tie)."""
    by_pair = await _owners(session, identities)
    return next((by_pair[p] for p in _candidates(identities) if p in by_pair), None)


async def account_for_email(session: AsyncSession, email: str | None) -> int | None:
    if not email or "@" not in email:
        return None
    domain = email.rsplit("@", 1)[1].lower()
    return await session.scalar(
        select(Account.id).where(Account.domains.contains([domain])).order_by(Account.id).limit(1)
    )


async def attach_identities(
    session: AsyncSession, contact: Contact, identities: Sequence[Identity]
) -> None:
    """Link addresses to the contact; an address already owned by someone stays theirs."""
    if not identities:
        return
    await session.execute(
        insert(ContactIdentity)
        .values([{"contact_id": contact.id, "kind": i.kind, "value": i.value} for i in identities])
        .on_conflict_do_nothing(constraint="uq_contact_identities_kind_value")
    )


async def resolve_contact(
    session: AsyncSession, identities: Sequence[Identity], *, name: str | None = None
) -> tuple[Contact, bool]:
    """Find or create the contact for a sender; returns (contact, created).

    Safe under concurrency: two messages from a new sender racing each other end on one
    contact, because the identity insert is the arbiter (ON CONFLICT DO NOTHING, re-read).
    """
    if not identities:
        raise ValidationFailed.field("sender", "at least one address is required")
    owners = await _owners(session, identities)
    contact = next((owners[p] for p in _candidates(identities) if p in owners), None)
    if contact is not None:
        while contact.merged_into_id is not None:
            merged = await session.get(Contact, contact.merged_into_id)
            assert merged is not None
            contact = merged
        # The common case, a known sender writing again, costs no write at all.
        await attach_identities(
            session, contact, [i for i in identities if (i.kind, i.value) not in owners]
        )
        if name and not contact.name:
            contact.name = name
        return contact, False

    email = next((i.value for i in identities if i.kind == "email"), None)
    phone = next((i.value for i in identities if i.kind in {"phone", "whatsapp"}), None)
    contact = Contact(
        name=name, email=email, phone=phone, account_id=await account_for_email(session, email)
    )
    session.add(contact)
    await session.flush()
    inserted = (
        await session.execute(
            insert(ContactIdentity)
            .values(
                [{"contact_id": contact.id, "kind": i.kind, "value": i.value} for i in identities]
            )
            .on_conflict_do_nothing(constraint="uq_contact_identities_kind_value")
            .returning(ContactIdentity.id)
        )
    ).all()
    if len(inserted) < len(identities):
        # Someone else claimed an address between our read and insert: use their contact.
        await session.delete(contact)
        await session.flush()
        winner = await find_contact(session, identities)
        assert winner is not None
        await attach_identities(session, winner, identities)
        return winner, False
    return contact, True
