from __future__ import annotations

from litestar import Controller, delete, get, patch, post
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.schemas import AccountCreate, AccountOut, AccountUpdate
from app.accounts.service import (
    account_out,
    do_create_account,
    do_delete_account,
    do_update_account,
    get_account,
    list_accounts,
)
from app.auth.actor import Actor, require_supervisor
from app.contacts.schemas import ContactOut
from app.contacts.service import contact_out, list_account_contacts
from app.http.params import Cursor, PageSize
from app.pagination import DEFAULT_LIMIT
from app.schemas import Page


class AccountController(Controller):
    path = "/api/v1/accounts"
    tags = ["accounts"]

    @get("/", summary="Accounts, newest first; `q` matches a name fragment or an exact domain")
    async def index(
        self,
        actor: Actor,
        db_session: AsyncSession,
        q: str | None = None,
        limit: PageSize = DEFAULT_LIMIT,
        cursor: Cursor = None,
    ) -> Page[AccountOut]:
        items, next_cursor = await list_accounts(db_session, q=q, limit=limit, cursor=cursor)
        return Page(items=[account_out(a) for a in items], next_cursor=next_cursor)

    @post("/", summary="Create an account")
    async def create(
        self, data: AccountCreate, actor: Actor, db_session: AsyncSession
    ) -> AccountOut:
        account = await do_create_account(
            db_session,
            actor_id=actor.agent_id,
            name=data.name,
            domains=data.domains,
            tier=data.tier,
            custom_fields=data.custom_fields,
        )
        return account_out(account)

    @get("/{account_id:int}", summary="One account")
    async def show(self, account_id: int, actor: Actor, db_session: AsyncSession) -> AccountOut:
        return account_out(await get_account(db_session, account_id))

    @patch("/{account_id:int}", summary="Change an account; `custom_fields` is a merge patch")
    async def update(
        self, account_id: int, data: AccountUpdate, actor: Actor, db_session: AsyncSession
    ) -> AccountOut:
        account = await do_update_account(
            db_session,
            actor_id=actor.agent_id,
            account_id=account_id,
            name=data.name,
            domains=data.domains,
            tier=data.tier,
            custom_fields=data.custom_fields,
        )
        return account_out(account)

    @delete("/{account_id:int}", summary="Delete an account; its contacts stay, unlinked")
    async def destroy(self, account_id: int, actor: Actor, db_session: AsyncSession) -> None:
        require_supervisor(actor)
        await do_delete_account(db_session, actor_id=actor.agent_id, account_id=account_id)

    @get("/{account_id:int}/contacts", summary="The account's contacts, newest first")
    async def contacts(
        self,
        account_id: int,
        actor: Actor,
        db_session: AsyncSession,
        limit: PageSize = DEFAULT_LIMIT,
        cursor: Cursor = None,
    ) -> Page[ContactOut]:
        items, next_cursor = await list_account_contacts(
            db_session, account_id=account_id, limit=limit, cursor=cursor
        )
        return Page(items=[contact_out(c) for c in items], next_cursor=next_cursor)
