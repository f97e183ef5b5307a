from __future__ import annotations

from datetime import datetime

import msgspec
from litestar import Controller, Response, get
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.actor import Actor
from app.errors import InvalidParameter
from app.http.params import Instant, instant
from app.sla.reports import GroupBy, policy_names, report_csv, sla_report
from app.sla.schemas import ReportOut


def _range(since: str | None, until: str | None) -> tuple[datetime, datetime]:
    start, end = instant("since", since), instant("until", until)
    if start is None:
        raise InvalidParameter.field("since", "required")
    if end is None:
        raise InvalidParameter.field("until", "required")
    return start, end


class ReportController(Controller):
    path = "/api/v1/reports"
    tags = ["reports"]

    @get("/sla", summary="New, solved, response and resolution times, SLA compliance (supervisors)")
    async def sla(
        self,
        actor: Actor,
        db_session: AsyncSession,
        since: Instant = None,
        until: Instant = None,
        group_by: GroupBy = "team",
    ) -> ReportOut:
        start, end = _range(since, until)
        rows = await sla_report(db_session, actor, since=start, until=end, group_by=group_by)
        names = await policy_names(db_session, rows) if group_by == "policy" else {}
        data = {
            "since": start,
            "until": end,
            "group_by": group_by,
            "rows": [vars(r) for r in rows],
            "names": names,
        }
        return msgspec.convert(data, ReportOut)

    @get("/sla.csv", summary="The same report as CSV", media_type="text/csv")
    async def sla_csv(
        self,
        actor: Actor,
        db_session: AsyncSession,
        since: Instant = None,
        until: Instant = None,
        group_by: GroupBy = "team",
    ) -> Response[str]:
        start, end = _range(since, until)
        rows = await sla_report(db_session, actor, since=start, until=end, group_by=group_by)
        names = await policy_names(db_session, rows) if group_by == "policy" else None
        return Response(
            report_csv(rows, group_by, names),
            media_type="text/csv",
            headers={"Content-Disposition": 'attachment; filename="sla-report.csv"'},
        )
