"""Admin API for inboxes. Every staff member may read (never the secrets); admins write."""

from __future__ import annotations

from litestar import Controller, delete, get, patch, post
from litestar.datastructures import State
from litestar.di import Provide
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.actor import Actor, require_admin
from app.http.params import Cursor, PageSize
from app.inboxes.schemas import (
    ConnectionCheckOut,
    ConnectionTestIn,
    ConnectionTestOut,
    InboxCreate,
    InboxOut,
    InboxUpdate,
)
from app.inboxes.service import (
    ConnectionTests,
    SettingsValidators,
    do_create_inbox,
    do_delete_inbox,
    do_update_inbox,
    get_inbox,
    inbox_out,
    list_inboxes,
    test_connection,
)
from app.pagination import DEFAULT_LIMIT
from app.schemas import Page
from app.security.crypto import SecretBox


def provide_secret_box(state: State) -> SecretBox:
    box: SecretBox = state.secret_box
    return box


def provide_settings_validators(state: State) -> SettingsValidators:
    validators: SettingsValidators = state.settings_validators
    return validators


def provide_connection_tests(state: State) -> ConnectionTests:
    tests: ConnectionTests = state.connection_tests
    return tests


class InboxController(Controller):
    path = "/api/v1/inboxes"
    tags = ["inboxes"]
    dependencies = {
        "secret_box": Provide(provide_secret_box, sync_to_thread=False),
        "validators": Provide(provide_settings_validators, sync_to_thread=False),
        "connection_tests": Provide(provide_connection_tests, sync_to_thread=False),
    }

    @post(
        "/connection-test",
        status_code=200,
        summary="Try an inbox's settings against its servers before saving them (admins); "
        "each step says what failed",
    )
    async def connection_test(
        self,
        data: ConnectionTestIn,
        actor: Actor,
        validators: SettingsValidators,
        connection_tests: ConnectionTests,
    ) -> ConnectionTestOut:
        require_admin(actor)
        checks = await test_connection(
            connection_tests, validators, channel=data.channel, settings=data.settings
        )
        out = [ConnectionCheckOut(step=c.step, ok=c.ok, detail=c.detail) for c in checks]
        return ConnectionTestOut(ok=all(c.ok for c in out), checks=out)

    @get("/", summary="List inboxes, newest first; filter by channel or active state")
    async def index(
        self,
        actor: Actor,
        db_session: AsyncSession,
        secret_box: SecretBox,
        channel: str | None = None,
        is_active: bool | None = None,
        limit: PageSize = DEFAULT_LIMIT,
        cursor: Cursor = None,
    ) -> Page[InboxOut]:
        inboxes, next_cursor = await list_inboxes(
            db_session, channel=channel, is_active=is_active, limit=limit, cursor=cursor
        )
        return Page(items=[inbox_out(i, secret_box) for i in inboxes], next_cursor=next_cursor)

    @get("/{inbox_id:int}", summary="One inbox; secret settings are listed by name only")
    async def show(
        self, inbox_id: int, actor: Actor, db_session: AsyncSession, secret_box: SecretBox
    ) -> InboxOut:
        return inbox_out(await get_inbox(db_session, inbox_id), secret_box)

    @post("/", summary="Create an inbox; secret settings are stored encrypted (admins)")
    async def create(
        self,
        data: InboxCreate,
        actor: Actor,
        db_session: AsyncSession,
        secret_box: SecretBox,
        validators: SettingsValidators,
    ) -> InboxOut:
        require_admin(actor)
        inbox = await do_create_inbox(
            db_session,
            secret_box,
            validators=validators,
            actor_id=actor.agent_id,
            name=data.name,
            channel=data.channel,
            settings=data.settings,
            team_id=data.team_id,
            is_active=data.is_active,
        )
        await db_session.refresh(inbox)
        return inbox_out(inbox, secret_box)

    @patch("/{inbox_id:int}", summary="Update an inbox; settings are merged (admins)")
    async def update(
        self,
        inbox_id: int,
        data: InboxUpdate,
        actor: Actor,
        db_session: AsyncSession,
        secret_box: SecretBox,
        validators: SettingsValidators,
    ) -> InboxOut:
        require_admin(actor)
        inbox = await do_update_inbox(
            db_session,
            secret_box,
            validators=validators,
            actor_id=actor.agent_id,
            inbox_id=inbox_id,
            changes=data,
        )
        await db_session.refresh(inbox)
        return inbox_out(inbox, secret_box)

    @delete("/{inbox_id:int}", summary="Delete an inbox; its tickets stay (admins)")
    async def remove(self, inbox_id: int, actor: Actor, db_session: AsyncSession) -> None:
        require_admin(actor)
        await do_delete_inbox(db_session, actor_id=actor.agent_id, inbox_id=inbox_id)
