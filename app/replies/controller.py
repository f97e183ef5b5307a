from __future__ import annotations

from datetime import datetime
from typing import Annotated

from litestar import Controller, delete, get, patch, post
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.actor import Actor
from app.messages.service import message_out
from app.replies.models import CannedReply, Macro
from app.replies.schemas import (
    CannedReplyCreate,
    CannedReplyOut,
    CannedReplyUpdate,
    MacroApplied,
    MacroApply,
    MacroCreate,
    MacroOut,
    MacroUpdate,
    RenderedReply,
)
from app.replies.service import (
    access_canned_reply,
    access_macro,
    do_apply_macro,
    do_create_canned_reply,
    do_create_macro,
    do_delete,
    do_update_canned_reply,
    do_update_macro,
    list_canned_replies,
    list_macros,
    macro_actions,
    render_canned_reply,
)
from app.sharing import can_change
from app.tickets.controller import ticket_out


def canned_reply_out(reply: CannedReply, actor: Actor) -> CannedReplyOut:
    return CannedReplyOut(
        id=reply.id,
        name=reply.name,
        body=reply.body,
        visibility=reply.visibility,
        team_id=reply.team_id,
        owner_id=reply.owner_id,
        editable=can_change(actor, reply),
        updated_at=reply.updated_at,
    )


def macro_out(macro: Macro, actor: Actor) -> MacroOut:
    return MacroOut(
        id=macro.id,
        name=macro.name,
        actions=macro_actions(macro),
        visibility=macro.visibility,
        team_id=macro.team_id,
        owner_id=macro.owner_id,
        editable=can_change(actor, macro),
        updated_at=macro.updated_at,
    )


class CannedReplyController(Controller):
    path = "/api/v1/canned-replies"
    tags = ["canned replies"]

    @get("/", summary="The canned replies you may use, by name; `q` matches a name fragment")
    async def index(
        self,
        actor: Actor,
        db_session: AsyncSession,
        q: Annotated[str | None, Parameter(max_length=100, pattern=r"^[^\x00]*$")] = None,
    ) -> list[CannedReplyOut]:
        replies = await list_canned_replies(db_session, actor, q=q)
        return [canned_reply_out(r, actor) for r in replies]

    @post("/", summary="Keep a canned reply: personal, or shared with a team or everyone")
    async def create(
        self, data: CannedReplyCreate, actor: Actor, db_session: AsyncSession
    ) -> CannedReplyOut:
        return canned_reply_out(await do_create_canned_reply(db_session, actor, data), actor)

    @patch("/{reply_id:int}", summary="Change a canned reply (its owner; supervisors for shared)")
    async def update(
        self, reply_id: int, data: CannedReplyUpdate, actor: Actor, db_session: AsyncSession
    ) -> CannedReplyOut:
        reply = await do_update_canned_reply(db_session, actor, reply_id, data)
        return canned_reply_out(reply, actor)

    @delete("/{reply_id:int}", summary="Delete a canned reply (its owner; supervisors for shared)")
    async def remove(self, reply_id: int, actor: Actor, db_session: AsyncSession) -> None:
        await do_delete(db_session, actor, await access_canned_reply(db_session, actor, reply_id))

    @get("/{reply_id:int}/render", summary="A canned reply filled in for a ticket")
    async def render(
        self,
        reply_id: int,
        ticket_id: Annotated[int, Parameter(ge=1, le=2**63 - 1, description="the ticket")],
        actor: Actor,
        db_session: AsyncSession,
    ) -> RenderedReply:
        body = await render_canned_reply(db_session, actor, reply_id, ticket_id=ticket_id)
        return RenderedReply(body=body)


class MacroController(Controller):
    path = "/api/v1/macros"
    tags = ["macros"]

    @get("/", summary="The macros you may apply, by name")
    async def index(self, actor: Actor, db_session: AsyncSession) -> list[MacroOut]:
        return [macro_out(m, actor) for m in await list_macros(db_session, actor)]

    @post("/", summary="Keep a macro: a reply and field changes applied in one action")
    async def create(self, data: MacroCreate, actor: Actor, db_session: AsyncSession) -> MacroOut:
        return macro_out(await do_create_macro(db_session, actor, data), actor)

    @patch("/{macro_id:int}", summary="Change a macro (its owner; supervisors for shared)")
    async def update(
        self, macro_id: int, data: MacroUpdate, actor: Actor, db_session: AsyncSession
    ) -> MacroOut:
        return macro_out(await do_update_macro(db_session, actor, macro_id, data), actor)

    @delete("/{macro_id:int}", summary="Delete a macro (its owner; supervisors for shared)")
    async def remove(self, macro_id: int, actor: Actor, db_session: AsyncSession) -> None:
        await do_delete(db_session, actor, await access_macro(db_session, actor, macro_id))

    @post(
        "/{macro_id:int}/apply",
        status_code=200,
        summary="Apply a macro to a ticket: its reply, then its field changes, all or nothing",
    )
    async def apply(
        self,
        macro_id: int,
        data: MacroApply,
        actor: Actor,
        db_session: AsyncSession,
        now: datetime,
    ) -> MacroApplied:
        ticket, message = await do_apply_macro(
            db_session,
            actor,
            macro_id,
            ticket_id=data.ticket_id,
            expected_seq=data.expected_seq,
            now=now,
        )
        return MacroApplied(
            ticket=ticket_out(ticket), message=message_out(message) if message else None
        )
