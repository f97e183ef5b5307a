"""Liveness and readiness. Readiness reports each dependency so an operator sees which failed,
and every supervised background task (app.supervisor) of this process and of the workers.
Why something is down (an exception's text, which may name hosts and ports) is logged, and
shown to admins only.

A failing task of this process makes it unready (503); the workers' tasks are listed with
their status but leave the answer alone, so a load balancer keeps sending requests to a web
node whose worker is in trouble (`/metrics` counts those for alerting).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import Any

from litestar import Request, Response, get
from litestar.datastructures import State
from litestar.openapi.datastructures import ResponseSpec
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.deps import SESSION_COOKIE, provide_actor
from app.config import Settings
from app.supervisor import Supervisor, all_components

log = logging.getLogger(__name__)

CHECK_TIMEOUT_SECONDS = 2.0


@get("/healthz", tags=["health"], summary="The process is up", security=[])
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


async def _check(name: str, probe: Any) -> tuple[str, dict[str, str]]:
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_SECONDS):
            detail = await probe()
    except Exception as exc:  # a failed probe is a report, not an error
        error = f"{type(exc).__name__}: {exc}"[:300]
        log.warning("readiness: %s is down: %s", name, error)
        return name, {"status": "down", "error": error}
    return name, {"status": "ok", **({"backend": detail} if detail else {})}


async def _caller_is_admin(
    request: Request[Any, Any, Any], db_session: AsyncSession, settings: Settings, now: datetime
) -> bool:
    """Readiness answers everyone (load balancers send no credentials); a caller who sends
    an admin's credentials is told more. Credentials that cannot be checked, because they
    are wrong or because the database is what is down, make an anonymous caller."""
    if "authorization" not in request.headers and SESSION_COOKIE not in request.cookies:
        return False
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_SECONDS):
            actor = await provide_actor(request, db_session, settings, now)
    except Exception:  # any failure means "not shown to be an admin"
        await db_session.rollback()
        return False
    return actor.is_admin


@get(
    "/readyz",
    tags=["health"],
    summary="PostgreSQL, Redis and search are reachable; background tasks are running "
    "(why something is not: admins only)",
    security=[],
    responses={
        503: ResponseSpec(
            dict[str, Any],
            description="Not ready: the same report, naming each check that is down",
            generate_examples=False,
        )
    },
)
async def readyz(
    state: State,
    request: Request[Any, Any, Any],
    db_session: AsyncSession,
    settings: Settings,
    now: datetime,
) -> Response[dict[str, Any]]:
    async def database() -> None:
        async with state.sessionmaker() as session:
            await session.execute(text("SELECT 1"))

    async def redis() -> None:
        await state.redis.ping()

    async def search() -> str:
        return str(await state.search_health())

    supervisor: Supervisor = state.supervisor
    results, components = await asyncio.gather(
        asyncio.gather(
            _check("database", database), _check("redis", redis), _check("search", search)
        ),
        all_components(supervisor, state.redis, prefix=state.settings.redis.channel_prefix),
    )
    ready = all(r["status"] == "ok" for _, r in results) and not supervisor.failing()
    checks = dict(results)
    reported = [c.as_json() for c in components]
    troubled = any(c["last_error"] for c in reported) or any("error" in r for _, r in results)
    if troubled and not await _caller_is_admin(request, db_session, settings, now):
        for report in (*checks.values(), *reported):
            report.pop("error", None)
            report.pop("last_error", None)
    return Response(
        {"status": "ok" if ready else "unavailable", "checks": checks, "components": reported},
        status_code=200 if ready else 503,
    )
