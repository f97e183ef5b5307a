"""The outbound side of the email benchmark: acknowledgements sent while mail imports.

`Outbound` starts, and stops again, what a deployment runs beside the mail poller:
- a private `redis-server` on a free port (arq's queue, the outbox relay's wake-ups), so
  no other checkout's worker on the shared Redis takes these jobs;
- the customers' SMTP server, aiosmtpd in its own process (`smtp_sink.py`), logging when
  each message arrives;
- `relaydesk worker` against the benchmark's database: its outbox relay turns every
  acknowledgement (a queued outbound message, written by the import) into a
  `send_outbound` job, which sends it over the worker's pooled SMTP connections.
The benchmark holds the inbox's poller lock (as a running poller does), so the worker's
own mail supervisor leaves that inbox to it.

`lateness` joins the sink's log with the acknowledgements in PostgreSQL: seconds from the
import (the message's `created_at`, the batch's clock) to its arrival at the SMTP server.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
from harness import ROOT, free_port, relaydesk_command

ACK_LATENESS_TARGET = 5.0  # seconds from import to the customer's server
ACK_TEXT = "Thank you for writing to us. We have opened a ticket and will answer soon."


@dataclass
class Outbound:
    database_url: str
    secret_key: str
    data_dir: Path
    smtp_port: int = field(default_factory=free_port)
    redis_port: int = field(default_factory=free_port)
    folder: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="bench-ack-")))
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def sink_log(self) -> Path:
        return self.folder / "arrivals.tsv"

    @property
    def worker_log(self) -> Path:
        return self.folder / "worker.log"

    def start_servers(self) -> None:
        """Redis and the SMTP sink; the worker comes once the inbox exists."""
        self.processes["redis"] = subprocess.Popen(
            [
                "redis-server",
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.redis_port),
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        sink = subprocess.Popen(
            [
                sys.executable,
                str(ROOT / "bench" / "smtp_sink.py"),
                str(self.smtp_port),
                str(self.sink_log),
            ],
            stdout=subprocess.PIPE,
        )
        self.processes["smtp"] = sink
        assert sink.stdout is not None
        if sink.stdout.readline().strip() != b"ready":
            raise RuntimeError("the SMTP sink did not start")
        _wait_for_port(self.redis_port)

    def start_worker(self) -> None:
        env = {
            **os.environ,
            "DATABASE_URL": self.database_url,
            "REDIS_URL": f"redis://127.0.0.1:{self.redis_port}/0",
            "RELAYDESK_SECRET_KEY": self.secret_key,
            "RELAYDESK_DATA_DIR": str(self.data_dir),
            "RELAYDESK_ENV": "dev",
        }
        command = [*relaydesk_command(), "worker"]
        if profile := os.environ.get("BENCH_WORKER_PROFILE"):  # cProfile the worker too
            command = [sys.executable, "-m", "cProfile", "-o", profile, *command]
        with self.worker_log.open("wb") as log:
            self.processes["worker"] = subprocess.Popen(
                command,
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def pids(self) -> dict[str, int]:
        return {name: p.pid for name, p in self.processes.items() if p.poll() is None}

    def arrivals(self) -> dict[str, float]:
        """Message-ID -> when the SMTP server took it (the first time)."""
        found: dict[str, float] = {}
        if self.sink_log.exists():
            for line in self.sink_log.read_text().splitlines():
                at, _, message_id = line.partition("\t")
                found.setdefault(message_id, float(at))
        return found

    def stop(self, *, keep_logs: bool = False) -> None:
        for name in ("worker", "smtp", "redis"):
            process = self.processes.pop(name, None)
            if process is None or process.poll() is not None:
                continue
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if not keep_logs:
            shutil.rmtree(self.folder, ignore_errors=True)


def _wait_for_port(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on port {port}")


async def wait_for_acks(
    conn: asyncpg.Connection, outbound: Outbound, *, patience: float
) -> dict[str, Any]:
    """Wait until every acknowledgement is out (or `patience` seconds have passed); what
    was sent and when."""
    expected = int(
        await conn.fetchval("SELECT count(*) FROM messages WHERE direction = 'outbound'")
    )
    deadline = time.monotonic() + patience
    while time.monotonic() < deadline:
        if len(outbound.arrivals()) >= expected:
            break
        await asyncio.sleep(0.25)
    return await lateness(conn, outbound, expected=expected)


async def lateness(
    conn: asyncpg.Connection, outbound: Outbound, *, expected: int
) -> dict[str, Any]:
    arrivals = outbound.arrivals()
    rows = await conn.fetch(
        "SELECT external_id, extract(epoch FROM created_at) AS imported, status "
        "FROM messages WHERE direction = 'outbound'"
    )
    late = sorted(
        arrivals[r["external_id"]] - float(r["imported"])
        for r in rows
        if r["external_id"] in arrivals
    )
    statuses: dict[str, int] = {}
    for r in rows:
        statuses[r["status"]] = statuses.get(r["status"], 0) + 1

    def pct(p: float) -> float | None:
        return round(late[min(len(late) - 1, int(p * len(late)))], 2) if late else None

    return {
        "expected": expected,
        "arrived": len(late),
        "statuses": statuses,
        "p50_seconds": pct(0.50),
        "p99_seconds": pct(0.99),
        "max_seconds": round(late[-1], 2) if late else None,
        "later_than_target": sum(1 for s in late if s > ACK_LATENESS_TARGET),
        "last_arrival": max(arrivals.values()) if arrivals else None,
    }
