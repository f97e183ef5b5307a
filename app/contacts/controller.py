from __future__ import annotations

from datetime import datetime

from litestar import Controller, delete, get, patch, post
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.actor import Actor, require_supervisor
from app.contacts.schemas import ContactCreate, ContactMerge, ContactOut, ContactUpdate
from app.contacts.service import (
    contact_out,
    do_create_contact,
    do_delete_contact,
    do_update_contact,
    get_contact,
    list_contacts,
)
from app.http.params import Cursor, PageSize
from app.pagination import DEFAULT_LIMIT
from app.schemas import Page
from app.tickets.contact_merge import do_merge_contacts


class ContactController(Controller):
    path = "/api/v1/contacts"
    tags = ["contacts"]

    @get(
        "/",
        summary="Contacts, newest first",
        description="`q` is an exact email (any case), a phone number (any formatting) "
        "or a name fragment. Merged contacts are not listed.",
    )
    async def index(
        self,
        actor: Actor,
        db_session: AsyncSession,
        q: str | None = None,
        account_id: int | None = None,
        limit: PageSize = DEFAULT_LIMIT,
        cursor: Cursor = None,
    ) -> Page[ContactOut]:
        items, next_cursor = await list_contacts(
            db_session, q=q, account_id=account_id, limit=limit, cursor=cursor
        )
        return Page(items=[contact_out(c) for c in items], next_cursor=next_cursor)

    @post("/", summary="Create a contact; its email and phone become identities")
    async def create(
        self, data: ContactCreate, actor: Actor, db_session: AsyncSession
    ) -> ContactOut:
        contact = await do_create_contact(
            db_session,
            actor_id=actor.agent_id,
            name=data.name,
            email=data.email,
            phone=data.phone,
            locale=data.locale,
            time_zone=data.time_zone,
            account_id=data.account_id,
            custom_fields=data.custom_fields,
            identities=data.identities,
        )
        return contact_out(contact)

    @get("/{contact_id:int}", summary="One contact; a merged one has `merged_into_id` set")
    async def show(self, contact_id: int, actor: Actor, db_session: AsyncSession) -> ContactOut:
        return contact_out(await get_contact(db_session, contact_id))

    @patch("/{contact_id:int}", summary="Change a contact, add or remove its identities")
    async def update(
        self, contact_id: int, data: ContactUpdate, actor: Actor, db_session: AsyncSession
    ) -> ContactOut:
        contact = await do_update_contact(
            db_session,
            actor_id=actor.agent_id,
            contact_id=contact_id,
            name=data.name,
            email=data.email,
            phone=data.phone,
            locale=data.locale,
            time_zone=data.time_zone,
            account_id=data.account_id,
            custom_fields=data.custom_fields,
            add_identities=data.add_identities,
            remove_identity_ids=data.remove_identity_ids,
        )
        return contact_out(contact)

    @delete("/{contact_id:int}", summary="Delete a contact that has no tickets")
    async def destroy(self, contact_id: int, actor: Actor, db_session: AsyncSession) -> None:
        require_supervisor(actor)
        await do_delete_contact(db_session, actor_id=actor.agent_id, contact_id=contact_id)

    @post(
        "/{contact_id:int}/merge",
        status_code=200,
        summary="Merge this contact into `into_id`; returns the target",
    )
    async def merge(
        self,
        contact_id: int,
        data: ContactMerge,
        actor: Actor,
        db_session: AsyncSession,
        now: datetime,
    ) -> ContactOut:
        require_supervisor(actor)
        contact = await do_merge_contacts(
            db_session,
            actor_id=actor.agent_id,
            source_id=contact_id,
            target_id=data.into_id,
            now=now,
        )
        return contact_out(contact)
