"""Senders' contacts for a batch of inbound messages: found, or made, for all at once.

The batch form of `resolve_contact` (app.contacts.identities): one statement finds the
owners of every address, one the accounts of the new senders' domains, and the new
contacts and their identities are two multi-row inserts. Merged contacts are left out
(the per-message path follows the merge).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select, tuple_
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import Account
from app.contacts.models import Contact, ContactIdentity

Pair = tuple[str, str]  # an identity's (kind, value), normalised


async def senders_contacts(
    session: AsyncSession, pairs: Sequence[Pair], *, creates: dict[Pair, str | None]
) -> dict[Pair, Contact]:
    """The senders' contacts; those in `creates` are made when missing (two statements
    for all of them). A sender another process creates meanwhile makes the identity
    insert come back short: the batch fails and goes in message by message."""
    if not pairs:
        return {}
    rows = (
        await session.execute(
            select(ContactIdentity.kind, ContactIdentity.value, Contact)
            .join(Contact, Contact.id == ContactIdentity.contact_id)
            .where(tuple_(ContactIdentity.kind, ContactIdentity.value).in_(pairs))
        )
    ).all()
    found: dict[Pair, Contact] = {}
    for kind, value, contact in rows:
        if contact.merged_into_id is not None:
            continue  # followed by the per-message path
        found[(kind, value)] = contact
        name = creates.get((kind, value))
        if name and not contact.name:
            contact.name = name
    missing = [p for p in creates if p not in found and not _merged(p, rows)]
    if not missing:
        return found
    accounts = await _accounts(session, {_domain(v) for k, v in missing if k == "email"} - {None})
    made = {
        (kind, value): Contact(
            name=creates[(kind, value)],
            email=value if kind == "email" else None,
            phone=value if kind in {"phone", "whatsapp"} else None,
            account_id=accounts.get(_domain(value)) if kind == "email" else None,
        )
        for kind, value in missing
    }
    session.add_all(made.values())
    await session.flush()
    inserted = (
        await session.execute(
            insert(ContactIdentity)
            .on_conflict_do_nothing(constraint="uq_contact_identities_kind_value")
            .returning(ContactIdentity.id),
            [{"contact_id": c.id, "kind": k, "value": v} for (k, v), c in made.items()],
        )
    ).all()
    if len(inserted) < len(made):
        raise RuntimeError("a sender's contact was created concurrently")
    return {**found, **made}


async def _accounts(session: AsyncSession, domains: set[str | None]) -> dict[str | None, int]:
    """The account of each domain (the lowest id, as `account_for_email` picks)."""
    if not domains:
        return {}
    stmt = (
        select(Account.id, Account.domains)
        .where(Account.domains.overlap(sorted(d for d in domains if d)))
        .order_by(Account.id)
    )
    found: dict[str | None, int] = {}
    for account_id, account_domains in (await session.execute(stmt)).all():
        for domain in account_domains:
            if domain in domains:
                found.setdefault(domain, account_id)
    return found


def _merged(pair: Pair, rows: Sequence[tuple[str, str, Contact]]) -> bool:
    return any((k, v) == pair for k, v, _ in rows)


def _domain(address: str) -> str | None:
    return address.rsplit("@", 1)[1].lower() if "@" in address else None
