"""Accounts: the customer companies contacts belong to."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import msgspec
from sqlalchemy import Select, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import Account
from app.accounts.schemas import AccountOut
from app.audit.service import record, snapshot
from app.errors import Conflict, NotFound, ValidationFailed
from app.pagination import check_limit, page_of, paginate

AUDITED = ("name", "domains", "tier", "custom_fields")
MAX_QUERY_LENGTH = 200
MAX_ID = 2**63 - 1


def check_id(entity: str, entity_id: int) -> int:
    """An id outside BIGINT cannot exist; answer "not found" before the driver overflows."""
    if not 1 <= entity_id <= MAX_ID:
        raise NotFound(f"{entity} {entity_id} does not exist")
    return entity_id


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, Mapping):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


def check_custom_fields(values: Mapping[str, Any]) -> dict[str, Any]:
    # PostgreSQL's JSONB cannot store \u0000; refuse it instead of failing at the database.
    if _has_nul(values):
        raise ValidationFailed.field("custom_fields", "must not contain NUL characters")
    return dict(values)


def like_pattern(text: str) -> str:
    """`%text%` for ILIKE, with the user's own wildcards taken literally."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def check_query(q: str | None) -> str | None:
    if q is None:
        return None
    q = q.strip()
    if len(q) > MAX_QUERY_LENGTH:
        raise ValidationFailed.field("q", f"must be at most {MAX_QUERY_LENGTH} characters")
    if "\x00" in q:
        raise ValidationFailed.field("q", "must not contain NUL characters")
    return q or None


def merge_patch(current: Mapping[str, Any], patch: Mapping[str, Any]) -> dict[str, Any]:
    """RFC 7396 at the top level: listed keys are replaced, a null value removes the key."""
    merged = dict(current)
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged


def account_out(account: Account) -> AccountOut:
    return AccountOut(
        id=account.id,
        name=account.name,
        domains=list(account.domains),
        tier=account.tier,
        custom_fields=dict(account.custom_fields),
        created_at=account.created_at,
        updated_at=account.updated_at,
    )


async def get_account(session: AsyncSession, account_id: int) -> Account:
    # populate_existing: a flush leaves server-side `updated_at` expired on the identity map.
    check_id("account", account_id)
    account = await session.scalar(
        select(Account).where(Account.id == account_id).execution_options(populate_existing=True)
    )
    if account is None:
        raise NotFound(f"account {account_id} does not exist")
    return account


async def check_account_exists(session: AsyncSession, account_id: int, *, field: str) -> int:
    if await session.scalar(select(Account.id).where(Account.id == account_id)) is None:
        raise ValidationFailed.field(field, f"no account with id {account_id}")
    return account_id


async def check_domains(
    session: AsyncSession, domains: Sequence[str], *, account_id: int | None = None
) -> list[str]:
    """Lowercased and deduplicated; a domain names one account, or auto-linking would guess."""
    cleaned = list(dict.fromkeys(d.strip().lower() for d in domains))
    if not cleaned:
        return cleaned
    stmt = select(Account.id, Account.domains).where(Account.domains.overlap(cleaned))
    if account_id is not None:
        stmt = stmt.where(Account.id != account_id)
    clash = (await session.execute(stmt.order_by(Account.id).limit(1))).first()
    if clash is not None:
        taken = sorted(set(clash.domains) & set(cleaned))
        raise Conflict(
            f"domains: {', '.join(taken)} already belongs to account {clash.id}",
            code="duplicate:account_domain",
        )
    return cleaned


def _search(stmt: Select[Any], q: str) -> Select[Any]:
    return stmt.where(
        or_(Account.name.ilike(like_pattern(q)), Account.domains.contains([q.lower()]))
    )


async def list_accounts(
    session: AsyncSession, *, q: str | None, limit: int, cursor: str | None
) -> tuple[list[Account], str | None]:
    """Newest first; `q` matches a name fragment or an exact domain."""
    stmt = select(Account)
    if (q := check_query(q)) is not None:
        stmt = _search(stmt, q)
    rows = (await session.scalars(paginate(stmt, Account.id, limit=limit, cursor=cursor))).all()
    return page_of(rows, limit=check_limit(limit))


async def do_create_account(
    session: AsyncSession,
    *,
    actor_id: int | None,
    name: str,
    domains: Sequence[str] = (),
    tier: str | None = None,
    custom_fields: Mapping[str, Any] | None = None,
) -> Account:
    account = Account(
        name=name.strip(),
        domains=await check_domains(session, domains),
        tier=tier,
        custom_fields=check_custom_fields(custom_fields or {}),
    )
    session.add(account)
    await session.flush()
    record(
        session,
        actor_id=actor_id,
        action="account.created",
        entity_type="account",
        entity_id=account.id,
        after=snapshot(account, AUDITED),
    )
    return await get_account(session, account.id)


async def do_update_account(
    session: AsyncSession,
    *,
    actor_id: int | None,
    account_id: int,
    name: str | msgspec.UnsetType = msgspec.UNSET,
    domains: Sequence[str] | msgspec.UnsetType = msgspec.UNSET,
    tier: str | msgspec.UnsetType | None = msgspec.UNSET,
    custom_fields: Mapping[str, Any] | msgspec.UnsetType = msgspec.UNSET,
) -> Account:
    account = await get_account(session, account_id)
    before = snapshot(account, AUDITED)
    if name is not msgspec.UNSET:
        account.name = name.strip()
    if domains is not msgspec.UNSET:
        account.domains = await check_domains(session, domains, account_id=account.id)
    if tier is not msgspec.UNSET:
        account.tier = tier
    if custom_fields is not msgspec.UNSET:
        # A new dict: JSONB columns do not track in-place mutation.
        account.custom_fields = merge_patch(
            account.custom_fields, check_custom_fields(custom_fields)
        )
    await session.flush()
    record(
        session,
        actor_id=actor_id,
        action="account.updated",
        entity_type="account",
        entity_id=account.id,
        before=before,
        after=snapshot(account, AUDITED),
    )
    return await get_account(session, account.id)


async def do_delete_account(
    session: AsyncSession, *, actor_id: int | None, account_id: int
) -> None:
    """Contacts and tickets stay; their `account_id` becomes null (ON DELETE SET NULL)."""
    account = await get_account(session, account_id)
    before = snapshot(account, AUDITED)
    await session.delete(account)
    await session.flush()
    record(
        session,
        actor_id=actor_id,
        action="account.deleted",
        entity_type="account",
        entity_id=account_id,
        before=before,
    )
