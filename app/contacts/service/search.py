"""Finding contacts: the list endpoint's search by email, phone number or name."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import Account
from app.accounts.service import MAX_ID, check_id, check_query, like_pattern
from app.contacts.identities import normalize
from app.contacts.models import Contact, ContactIdentity
from app.contacts.service.contacts import PHONE_KINDS, with_identities
from app.errors import NotFound, ValidationFailed
from app.pagination import check_limit, page_of, paginate

# A search for "+1 (555) 010-2030" is a phone number, "Room 101" is a name.
PHONE_QUERY = re.compile(r"^\+?[\d\s().\-/]+$")
MIN_PHONE_DIGITS = 5


def _search(stmt: Select[Any], q: str) -> Select[Any]:
    """An email matches exactly, a phone number by its digits, anything else a name fragment."""
    if "@" in q:
        owners = select(ContactIdentity.contact_id).where(
            ContactIdentity.kind == "email", ContactIdentity.value == normalize("email", q)
        )
        return stmt.where(Contact.id.in_(owners))
    if PHONE_QUERY.match(q) and sum(c.isdigit() for c in q) >= MIN_PHONE_DIGITS:
        owners = select(ContactIdentity.contact_id).where(
            ContactIdentity.kind.in_(PHONE_KINDS), ContactIdentity.value == normalize("phone", q)
        )
        return stmt.where(Contact.id.in_(owners))
    return stmt.where(Contact.name.ilike(like_pattern(q)))


async def list_contacts(
    session: AsyncSession,
    *,
    q: str | None = None,
    account_id: int | None = None,
    limit: int,
    cursor: str | None,
) -> tuple[list[Contact], str | None]:
    """Newest first; merged contacts are left out (their identities live on the target)."""
    stmt = select(Contact).where(Contact.merged_into_id.is_(None)).options(*with_identities())
    if (q := check_query(q)) is not None:
        stmt = _search(stmt, q)
    if account_id is not None:
        if not 1 <= account_id <= MAX_ID:
            raise ValidationFailed.field("account_id", f"must be between 1 and {MAX_ID}")
        stmt = stmt.where(Contact.account_id == account_id)
    rows = (await session.scalars(paginate(stmt, Contact.id, limit=limit, cursor=cursor))).all()
    return page_of(rows, limit=check_limit(limit))


async def list_account_contacts(
    session: AsyncSession, *, account_id: int, limit: int, cursor: str | None
) -> tuple[list[Contact], str | None]:
    if await session.get(Account, check_id("account", account_id)) is None:
        raise NotFound(f"account {account_id} does not exist")
    return await list_contacts(session, account_id=account_id, limit=limit, cursor=cursor)
