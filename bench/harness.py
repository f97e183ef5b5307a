"""The benchmark's moving parts: a scratch database, a server subprocess, a load driver.

Everything here is started by the benchmark and stopped by it; nothing touches the
databases or processes of a running dev server.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

ROOT = Path(__file__).resolve().parent.parent
SERVER_DSN = os.environ.get("BENCH_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432")


# 120 columns when the output is a file or a pipe, so tables and plans stay readable.
console = Console(width=None if sys.stdout.isatty() else 120)


def progress_bar(*extra: TextColumn) -> Progress:
    """The benchmarks' progress display: description, bar, done/total, `extra`, time."""
    return Progress(
        TextColumn("{task.description:<34}"),
        BarColumn(),
        MofNCompleteColumn(),
        *extra,
        TimeElapsedColumn(),
        console=console,
        refresh_per_second=4,
    )


def database_url(name: str) -> str:
    return SERVER_DSN.replace("postgresql://", "postgresql+asyncpg://", 1) + "/" + name


async def recreate_database(name: str) -> None:
    conn = await asyncpg.connect(SERVER_DSN + "/postgres")
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


async def drop_database(name: str) -> None:
    conn = await asyncpg.connect(SERVER_DSN + "/postgres")
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


def migrate(url: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "alembic", "upgrade", "head"],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": url},
        check=True,
        capture_output=True,
    )


def relaydesk_command() -> list[str]:
    """The installed `relaydesk` script next to this interpreter, else the module."""
    script = Path(sys.executable).parent / "relaydesk"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from app.cli import main; main()"]


def create_admin(env: dict[str, str], email: str, password: str) -> None:
    subprocess.run(
        [*relaydesk_command(), "create-admin", email, "--name", "Bench Admin"],
        input=password + "\n",
        text=True,
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Server:
    """`relaydesk serve` in a subprocess, with its output in a log file."""

    env: dict[str, str]
    workers: int
    port: int = field(default_factory=free_port)
    log_path: Path = field(default_factory=lambda: Path(tempfile.mkstemp(suffix=".log")[1]))
    command: list[str] = field(default_factory=list)
    process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _command(self) -> list[str]:
        cli = relaydesk_command()
        probe = subprocess.run(
            [*cli, "serve", "--help"], capture_output=True, text=True, cwd=ROOT, env=self.env
        )
        if probe.returncode == 0 and "--workers" in probe.stdout:
            # A line per request is a measurable share of a small request's time.
            quiet = ["--no-access-log"] if "--no-access-log" in probe.stdout else []
            return [*cli, "serve", "--host", "127.0.0.1", "--port", str(self.port),
                    "--workers", str(self.workers), *quiet]  # fmt: skip
        return [sys.executable, "-m", "uvicorn", "--factory", "app.main:create_app_from_env",
                "--host", "127.0.0.1", "--port", str(self.port),
                "--workers", str(self.workers)]  # fmt: skip

    def start(self) -> None:
        self.command = self._command()
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                self.command, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT
            )

    async def wait_ready(self, seconds: float = 60.0) -> None:
        assert self.process is not None
        try:
            async with asyncio.timeout(seconds), httpx.AsyncClient() as client:
                while True:
                    if self.process.poll() is not None:
                        raise RuntimeError(f"the server exited:\n{self.log_tail()}")
                    with contextlib.suppress(httpx.HTTPError):
                        if (await client.get(self.base_url + "/healthz")).status_code == 200:
                            return
                    await asyncio.sleep(0.2)
        except TimeoutError:
            raise RuntimeError(
                f"the server did not answer /healthz in {seconds:.0f}s:\n{self.log_tail()}"
            ) from None

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def log_tail(self, lines: int = 30) -> str:
        """The last lines of the server's output, without its access log."""
        text = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join([line for line in text if '" 20' not in line][-lines:])


@dataclass
class Sample:
    """Latencies of one measured workload, in seconds, plus its failures."""

    name: str
    latencies: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    wall: float = 0.0

    def percentile(self, p: int) -> float:
        if len(self.latencies) < 2:
            return self.latencies[0] if self.latencies else float("nan")
        return statistics.quantiles(self.latencies, n=100, method="inclusive")[p - 1]

    def summary(self) -> dict[str, Any]:
        ms = {f"p{p}_ms": round(self.percentile(p) * 1000, 2) for p in (50, 95, 99)}
        return {
            "requests": len(self.latencies),
            "wall_seconds": round(self.wall, 3),
            "throughput_rps": round(len(self.latencies) / self.wall, 1) if self.wall else None,
            **ms,
            "max_ms": round(max(self.latencies) * 1000, 2) if self.latencies else None,
            "statuses": dict(self.statuses),
            "errors": dict(self.errors),
        }


async def drive(
    sample: Sample,
    count: int,
    concurrency: int,
    request: Callable[[int], Awaitable[httpx.Response]],
    *,
    expect: int,
    on_done: Callable[[], None] = lambda: None,
) -> None:
    """Run `request(i)` for i in range(count) with `concurrency` requests in flight.

    Only the request is timed; a response with another status than `expect` is counted as
    an error (and still timed, so a fast failure cannot hide in the percentiles).
    """
    next_index = iter(range(count))

    async def client_loop() -> None:
        for i in next_index:
            started = time.perf_counter()
            try:
                response = await request(i)
            except httpx.HTTPError as exc:
                sample.errors[type(exc).__name__] += 1
            else:
                sample.latencies.append(time.perf_counter() - started)
                sample.statuses[response.status_code] += 1
                if response.status_code != expect:
                    sample.errors[f"HTTP {response.status_code}: {response.text[:120]}"] += 1
            on_done()

    started = time.perf_counter()
    await asyncio.gather(*(client_loop() for _ in range(concurrency)))
    sample.wall = time.perf_counter() - started


def git_commit() -> str | None:
    if shutil.which("git") is None:
        return None
    result = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    )
    return result.stdout.strip() or None
