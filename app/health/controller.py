"""Liveness and readiness. Readiness reports each dependency so an operator sees which failed,
and every supervised background task (app.supervisor) of this process and of the workers.

A failing task of this process makes it unready (503); the workers' tasks are listed with
their status but leave the answer alone, so a load balancer keeps sending requests to a web
node whose worker is in trouble (`/metrics` counts those for alerting).
"""

from __future__ import annotations

import asyncio
from typing import Any

from litestar import Response, get
from litestar.datastructures import State
from sqlalchemy import text

from app.supervisor import Supervisor, all_components

CHECK_TIMEOUT_SECONDS = 2.0


@get("/healthz", tags=["health"], summary="The process is up")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


async def _check(name: str, probe: Any) -> tuple[str, dict[str, str]]:
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_SECONDS):
            detail = await probe()
    except Exception as exc:  # a failed probe is a report, not an error
        return name, {"status": "down", "error": f"{type(exc).__name__}: {exc}"[:300]}
    return name, {"status": "ok", **({"backend": detail} if detail else {})}


@get(
    "/readyz",
    tags=["health"],
    summary="PostgreSQL, Redis and search are reachable; background tasks are running",
)
async def readyz(state: State) -> Response[dict[str, Any]]:
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
    return Response(
        {
            "status": "ok" if ready else "unavailable",
            "checks": dict(results),
            "components": [c.as_json() for c in components],
        },
        status_code=200 if ready else 503,
    )
