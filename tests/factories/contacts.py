"""Contacts and accounts, made the way ingest makes them (through `resolve_contact`)."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import Account
from app.contacts.identities import Identity, resolve_contact
from app.contacts.models import Contact
from app.contacts.service import get_contact

_counter = itertools.count(1)


async def make_account(
    session: AsyncSession, *, name: str | None = None, domains: Sequence[str] = ()
) -> Account:
    account = Account(name=name or f"Account {next(_counter)}", domains=list(domains))
    session.add(account)
    await session.flush()
    return account


async def make_contact(
    session: AsyncSession,
    *,
    email: str | None = None,
    name: str | None = None,
    phone: str | None = None,
    account_id: int | None = None,
) -> Contact:
    """A contact with its identities loaded; the account comes from the email's domain
    unless `account_id` is given."""
    identities = [Identity.of("email", email or f"contact{next(_counter)}@example.test")]
    if phone:
        identities.append(Identity.of("phone", phone))
    contact, _ = await resolve_contact(session, identities, name=name)
    if account_id is not None:
        contact.account_id = account_id
    await session.flush()
    return await get_contact(session, contact.id)
