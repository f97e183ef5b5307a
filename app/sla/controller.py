from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

import msgspec
from litestar import Controller, delete, get, patch, post, put
from litestar.di import Provide
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.actor import Actor
from app.http.params import Instant, PageSize, instant
from app.inboxes.channels import ChannelName
from app.sla.deps import provide_sla_engine
from app.sla.models import SlaCalendar, SlaPolicy
from app.sla.port import SlaEngine
from app.sla.schemas import (
    BoardPage,
    BoardTicket,
    CalendarCreate,
    CalendarOut,
    CalendarUpdate,
    DueOverride,
    PolicyCreate,
    PolicyOut,
    PolicyUpdate,
)
from app.sla.service import (
    access_calendar,
    access_policy,
    at_risk_tickets,
    breached_tickets,
    do_create_calendar,
    do_create_policy,
    do_delete_calendar,
    do_delete_policy,
    do_override_due,
    do_update_calendar,
    do_update_policy,
    list_calendars,
    list_policies,
)
from app.sla.ticket_sla import TicketSla
from app.tickets.controller import ticket_out
from app.tickets.models import Ticket
from app.tickets.schemas import TicketOut

OptionalId = Annotated[int | None, Parameter(ge=1, le=2**63 - 1)]


def calendar_out(calendar: SlaCalendar) -> CalendarOut:
    return msgspec.convert(
        {f: getattr(calendar, f) for f in CalendarOut.__struct_fields__}, CalendarOut
    )


def policy_out(policy: SlaPolicy) -> PolicyOut:
    return msgspec.convert({f: getattr(policy, f) for f in PolicyOut.__struct_fields__}, PolicyOut)


def sla_out(sla: dict[str, Any] | None) -> TicketSla | None:
    return None if sla is None else msgspec.convert(sla, TicketSla, strict=False)


def board_out(ticket: Ticket, now: datetime, policy_names: dict[int, str]) -> BoardTicket:
    assert ticket.sla_due_at is not None
    targets = sla_out(ticket.sla)
    unmet = [t for t in (targets.targets if targets else []) if t.met_at is None and t.due_at]
    soonest = min(unmet, key=lambda t: t.due_at or now, default=None)
    policy_id = soonest.policy_id if soonest and soonest.policy_id else ticket.sla_policy_id
    return BoardTicket(
        ticket_id=ticket.id,
        number=ticket.number,
        subject=ticket.subject,
        status=ticket.status,
        priority=ticket.priority,
        channel=ticket.channel,
        team_id=ticket.team_id,
        assignee_id=ticket.assignee_id,
        policy_id=policy_id,
        policy_name=policy_names.get(policy_id) if policy_id is not None else None,
        group_team_id=soonest.team_id if soonest else None,
        metric=soonest.metric if soonest else None,
        due_at=ticket.sla_due_at,
        overdue_seconds=int((now - ticket.sla_due_at).total_seconds()),
        targets=unmet,
    )


class SlaController(Controller):
    path = "/api/v1/sla"
    tags = ["sla"]
    dependencies = {"sla_engine": Provide(provide_sla_engine, sync_to_thread=False)}

    @get("/calendars", summary="Business calendars (supervisors and admins)")
    async def calendars(self, actor: Actor, db_session: AsyncSession) -> list[CalendarOut]:
        return [calendar_out(c) for c in await list_calendars(db_session, actor)]

    @post("/calendars", summary="Add a business calendar (admins); holidays importable by country")
    async def create_calendar(
        self, data: CalendarCreate, actor: Actor, db_session: AsyncSession, sla_engine: SlaEngine
    ) -> CalendarOut:
        return calendar_out(await do_create_calendar(db_session, actor, sla_engine, data))

    @get("/calendars/{calendar_id:int}", summary="A business calendar")
    async def calendar(
        self, calendar_id: int, actor: Actor, db_session: AsyncSession
    ) -> CalendarOut:
        return calendar_out(await access_calendar(db_session, actor, calendar_id))

    @patch("/calendars/{calendar_id:int}", summary="Change a calendar; open tickets are recomputed")
    async def update_calendar(
        self,
        calendar_id: int,
        data: CalendarUpdate,
        actor: Actor,
        db_session: AsyncSession,
        sla_engine: SlaEngine,
    ) -> CalendarOut:
        calendar = await do_update_calendar(db_session, actor, sla_engine, calendar_id, data)
        return calendar_out(calendar)

    @delete("/calendars/{calendar_id:int}", summary="Remove a calendar no policy uses (admins)")
    async def delete_calendar(
        self, calendar_id: int, actor: Actor, db_session: AsyncSession
    ) -> None:
        await do_delete_calendar(db_session, actor, calendar_id)

    @get("/policies", summary="SLA policies in the order they are tried")
    async def policies(self, actor: Actor, db_session: AsyncSession) -> list[PolicyOut]:
        return [policy_out(p) for p in await list_policies(db_session, actor)]

    @post("/policies", summary="Add an SLA policy (admins)")
    async def create_policy(
        self, data: PolicyCreate, actor: Actor, db_session: AsyncSession, sla_engine: SlaEngine
    ) -> PolicyOut:
        return policy_out(await do_create_policy(db_session, actor, sla_engine, data))

    @get("/policies/{policy_id:int}", summary="An SLA policy")
    async def policy(self, policy_id: int, actor: Actor, db_session: AsyncSession) -> PolicyOut:
        return policy_out(await access_policy(db_session, actor, policy_id))

    @patch("/policies/{policy_id:int}", summary="Change a policy; open tickets are recomputed")
    async def update_policy(
        self,
        policy_id: int,
        data: PolicyUpdate,
        actor: Actor,
        db_session: AsyncSession,
        sla_engine: SlaEngine,
    ) -> PolicyOut:
        return policy_out(await do_update_policy(db_session, actor, sla_engine, policy_id, data))

    @delete("/policies/{policy_id:int}", summary="Remove a policy (admins)")
    async def delete_policy(self, policy_id: int, actor: Actor, db_session: AsyncSession) -> None:
        await do_delete_policy(db_session, actor, policy_id)

    @put(
        "/tickets/{ticket_id:int}/due",
        summary="Freeze one target's due time, or release it with null (supervisors; audited)",
    )
    async def override_due(
        self,
        ticket_id: int,
        data: DueOverride,
        actor: Actor,
        db_session: AsyncSession,
        sla_engine: SlaEngine,
        now: datetime,
    ) -> TicketOut:
        ticket = await do_override_due(db_session, actor, sla_engine, ticket_id, data, now=now)
        return ticket_out(ticket)

    @get("/breaches", summary="Open tickets past a due time, most overdue first")
    async def breaches(
        self,
        actor: Actor,
        db_session: AsyncSession,
        now: datetime,
        team_id: OptionalId = None,
        assignee_id: OptionalId = None,
        channel: ChannelName | None = None,
        policy_id: OptionalId = None,
        due_after: Instant = None,
        due_before: Instant = None,
        limit: PageSize = 100,
    ) -> BoardPage:
        board = await breached_tickets(
            db_session,
            actor,
            now=now,
            limit=limit,
            team_id=team_id,
            assignee_id=assignee_id,
            channel=channel,
            policy_id=policy_id,
            due_after=instant("due_after", due_after),
            due_before=instant("due_before", due_before),
        )
        return BoardPage(
            now=now, items=[board_out(t, now, board.policy_names) for t in board.tickets]
        )

    @get("/at-risk", summary="Open tickets falling due within `within_minutes`, soonest first")
    async def at_risk(
        self,
        actor: Actor,
        db_session: AsyncSession,
        now: datetime,
        within_minutes: Annotated[int, Parameter(ge=1, le=10_080)] = 60,
        team_id: OptionalId = None,
        assignee_id: OptionalId = None,
        channel: ChannelName | None = None,
        policy_id: OptionalId = None,
        due_after: Instant = None,
        due_before: Instant = None,
        limit: PageSize = 100,
    ) -> BoardPage:
        board = await at_risk_tickets(
            db_session,
            actor,
            now=now,
            within=timedelta(minutes=within_minutes),
            limit=limit,
            team_id=team_id,
            assignee_id=assignee_id,
            channel=channel,
            policy_id=policy_id,
            due_after=instant("due_after", due_after),
            due_before=instant("due_before", due_before),
        )
        return BoardPage(
            now=now, items=[board_out(t, now, board.policy_names) for t in board.tickets]
        )
