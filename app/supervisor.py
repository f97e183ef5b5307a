"""The supervisor of every long-running task (the outbox relay, the mail supervisor and its
pollers in the worker; the app's own tasks in the web process).

    supervisor.run("outbox-relay", lambda: run_relay(...))

A task that raises is logged with its traceback and started again after an exponential
backoff with jitter (so a fleet of workers does not retry in step); it counts as
`failing` from the crash until it has run `stable_after` seconds without crashing again.
A task that returns is finished and leaves the list; `cancel(name)` stops one.

Each process's supervisor knows its own components. A worker also reports them into Redis
(`report_components`, one key per process with a TTL, so a dead process's report lapses),
and the web process reads those reports (`read_reports`) for `/readyz` and `/metrics`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import random
import socket
import time
from collections.abc import Callable, Coroutine
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from redis.asyncio import Redis
from redis.exceptions import RedisError

__all__ = [
    "ComponentState",
    "Supervisor",
    "all_components",
    "process_name",
    "read_reports",
    "report_components",
]

log = logging.getLogger(__name__)

TaskFactory = Callable[[], Coroutine[Any, Any, Any]]
Status = Literal["running", "failing"]

REPORT_INTERVAL_SECONDS = 5.0
# A report outlives a few missed heartbeats, not a dead process.
REPORT_TTL_SECONDS = 20
READ_TIMEOUT_SECONDS = 2.0


def process_name(role: str) -> str:
    """Names this process in reports: `worker@host:pid`."""
    return f"{role}@{socket.gethostname()}:{os.getpid()}"


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass
class ComponentState:
    """What an operator sees of one supervised task."""

    name: str
    process: str
    status: Status = "running"
    restarts: int = 0
    last_error: str | None = None
    failed_at: datetime | None = None

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["failed_at"] = self.failed_at.isoformat() if self.failed_at else None
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ComponentState:
        failed_at = data.get("failed_at")
        return cls(
            name=str(data["name"]),
            process=str(data["process"]),
            status="failing" if data.get("status") == "failing" else "running",
            restarts=int(data.get("restarts", 0)),
            last_error=data.get("last_error"),
            failed_at=datetime.fromisoformat(failed_at) if failed_at else None,
        )


@dataclass
class _Supervised:
    state: ComponentState
    task: asyncio.Task[None]


class Supervisor:
    def __init__(
        self,
        process: str,
        *,
        min_backoff: float = 1.0,
        max_backoff: float = 60.0,
        stable_after: float = 30.0,
    ) -> None:
        self.process = process
        self.min_backoff = min_backoff
        self.max_backoff = max_backoff
        self.stable_after = stable_after
        self._tasks: dict[str, _Supervised] = {}
        # Set whenever a component's state changes, so a reporter can send it at once.
        self.changed = asyncio.Event()

    def run(self, name: str, factory: TaskFactory) -> None:
        """Supervise `factory()` under `name`; a no-op while a task of that name runs."""
        if name in self._tasks:
            return
        state = ComponentState(name=name, process=self.process)
        task = asyncio.create_task(self._keep_running(name, factory, state), name=name)
        self._tasks[name] = _Supervised(state=state, task=task)
        self.changed.set()

    def is_running(self, name: str) -> bool:
        return name in self._tasks

    def names(self) -> set[str]:
        return set(self._tasks)

    def components(self) -> list[ComponentState]:
        return [supervised.state for _, supervised in sorted(self._tasks.items())]

    def failing(self) -> list[ComponentState]:
        return [state for state in self.components() if state.status == "failing"]

    async def cancel(self, name: str) -> None:
        supervised = self._tasks.pop(name, None)
        if supervised is None:
            return
        self.changed.set()
        supervised.task.cancel()
        await asyncio.gather(supervised.task, return_exceptions=True)

    async def close(self) -> None:
        """Cancel every task and wait for them to end."""
        tasks = [supervised.task for supervised in self._tasks.values()]
        self._tasks.clear()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _backoff(self, crashes: int) -> float:
        ceiling: float = min(self.max_backoff, self.min_backoff * 2.0 ** (crashes - 1))
        return ceiling * random.uniform(0.5, 1.0)  # noqa: S311 - jitter, not a secret

    async def _keep_running(self, name: str, factory: TaskFactory, state: ComponentState) -> None:
        crashes = 0  # in a row, without a stable run between them: the backoff's exponent
        try:
            while True:
                started = time.monotonic()
                recovered = asyncio.get_running_loop().call_later(
                    self.stable_after, self._mark_running, state
                )
                try:
                    await factory()
                except Exception as exc:
                    recovered.cancel()
                    if time.monotonic() - started >= self.stable_after:
                        crashes = 0
                    crashes += 1
                    delay = self._backoff(crashes)
                    log.error(
                        "background task %s crashed; restarting in %.1fs",
                        name,
                        delay,
                        exc_info=exc,
                    )
                    state.status = "failing"
                    state.last_error = f"{type(exc).__name__}: {exc}"[:500]
                    state.failed_at = _now()
                    self.changed.set()
                    await asyncio.sleep(delay)
                    state.restarts += 1
                    self.changed.set()
                    continue
                recovered.cancel()
                log.debug("background task %s finished", name)
                return
        finally:
            current = self._tasks.get(name)
            if current is not None and current.state is state:
                del self._tasks[name]
                self.changed.set()

    def _mark_running(self, state: ComponentState) -> None:
        if state.status != "running":
            state.status = "running"
            self.changed.set()


def _report_key(prefix: str, process: str) -> str:
    return f"{prefix}:components:{process}"


async def report_components(
    supervisor: Supervisor,
    redis: Redis,
    *,
    prefix: str,
    interval: float = REPORT_INTERVAL_SECONDS,
    ttl: int = REPORT_TTL_SECONDS,
) -> None:
    """Keep this process's components in Redis until cancelled: at every change and every
    `interval` seconds. Redis being away is logged and retried (`/readyz` reports Redis)."""
    key = _report_key(prefix, supervisor.process)
    try:
        while True:
            supervisor.changed.clear()
            body = json.dumps(
                {
                    "process": supervisor.process,
                    "components": [state.as_json() for state in supervisor.components()],
                }
            )
            try:
                await redis.set(key, body, ex=ttl)
            except (RedisError, OSError) as exc:
                log.warning("cannot report background tasks to Redis: %s", exc)
            try:
                async with asyncio.timeout(interval):
                    await supervisor.changed.wait()
            except TimeoutError:
                pass
    finally:
        # A process that stops cleanly takes its report with it.
        with contextlib.suppress(RedisError, OSError):
            await asyncio.shield(redis.delete(key))


async def read_reports(redis: Redis, *, prefix: str) -> list[ComponentState]:
    """Every process's reported components, by name then process."""
    keys = [key async for key in redis.scan_iter(match=_report_key(prefix, "*"), count=100)]
    states: list[ComponentState] = []
    for raw in await redis.mget(keys) if keys else []:
        if raw is None:  # lapsed between the scan and the read
            continue
        report = json.loads(raw)
        states.extend(ComponentState.from_json(item) for item in report["components"])
    return sorted(states, key=lambda s: (s.name, s.process))


async def all_components(
    supervisor: Supervisor, redis: Redis, *, prefix: str
) -> list[ComponentState]:
    """This process's components and those the other processes report in Redis (none of
    theirs while Redis is away: `/readyz` reports Redis itself)."""
    try:
        async with asyncio.timeout(READ_TIMEOUT_SECONDS):
            reported = await read_reports(redis, prefix=prefix)
    except (RedisError, OSError, TimeoutError, ValueError) as exc:
        log.warning("cannot read the background tasks' reports: %s", exc)
        reported = []
    others = [state for state in reported if state.process != supervisor.process]
    return sorted(
        [*supervisor.components(), *others], key=lambda state: (state.name, state.process)
    )
