"""Probes for the email ingest benchmark: time the poller's steps, read memory and CPU.

The poller and the IMAP mailbox are the real ones, subclassed only to time their steps;
nothing here changes what they do.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

import channels.email.importer
from app.inbound.models import InboundItem
from channels.email.imap import FetchedMessage, ImapMailbox
from channels.email.parsing import Parsed
from channels.email.poller import InboxPoller
from channels.email.settings import EmailInboxSettings

# -- memory ------------------------------------------------------------------------------


def memory_mib() -> dict[str, float]:
    """This process's resident set now (VmRSS) and at its peak (VmHWM), in MiB."""
    found = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            found[key] = int(value.split()[0]) / 1024
    return {"rss": round(found["VmRSS"], 1), "peak": round(found["VmHWM"], 1)}


def reset_peak() -> bool:
    """Start VmHWM afresh (Linux: "5" to clear_refs), so the peak is the import's own."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def cpu_seconds(names: tuple[str, ...]) -> dict[str, float]:
    """CPU time (user + system) used so far by this process and by every running process
    whose command is one of `names`: what PostgreSQL and dovecot spend is in the
    benchmark too, on the same cores."""
    tick = os.sysconf("SC_CLK_TCK")
    usage = os.times()
    found = {"bench": usage.user + usage.system, **dict.fromkeys(names, 0.0)}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:  # the process exited meanwhile
            continue
        command = text[text.index("(") + 1 : text.rindex(")")]
        fields = text[text.rindex(")") + 2 :].split()
        for name in names:
            if command.startswith(name):
                found[name] += (int(fields[11]) + int(fields[12])) / tick
    return found


def children_cpu_seconds(known: dict[str, int]) -> dict[str, float]:
    """CPU time of the processes in `known` (name -> pid) and, as "parser", of every other
    child of this process (the parser pool's)."""
    tick = os.sysconf("SC_CLK_TCK")
    me = os.getpid()
    by_pid = {pid: name for name, pid in known.items()}
    found = {**dict.fromkeys(known, 0.0), "parser": 0.0}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        pid = int(stat.parent.name)
        fields = text[text.rindex(")") + 2 :].split()
        used = (int(fields[11]) + int(fields[12])) / tick
        if pid in by_pid:
            found[by_pid[pid]] += used
        elif int(fields[1]) == me:
            found["parser"] += used
    return found


# -- the measured import -----------------------------------------------------------------


@dataclass
class Steps:
    """Wall time spent in each step of `InboxPoller.sync`, in seconds."""

    imap_fetch: float = 0.0
    store_raw: float = 0.0
    import_: float = 0.0
    parse: float = 0.0  # inside import_
    parse_pool: float = 0.0  # in the parser process, beside the import (wall time)
    mark_seen: float = 0.0
    statuses: Counter[str] = field(default_factory=Counter)


class TimedMailbox(ImapMailbox):
    steps: Steps

    async def fetch(self, uids: Sequence[int], *, batch: int = 50) -> AsyncIterator[FetchedMessage]:
        messages = super().fetch(uids, batch=batch)
        while True:
            started = time.perf_counter()
            try:
                message = await anext(messages)
            except StopAsyncIteration:
                return
            finally:
                self.steps.imap_fetch += time.perf_counter() - started
            yield message


class TimedPoller(InboxPoller):
    """The real poller, timed at its steps; `on_import` sees every final status."""

    steps: Steps
    on_import: Callable[[str], None]
    first_stored: float | None = None  # perf_counter when the first batch was stored
    last_imported: float = 0.0  # perf_counter, and Unix time, when the last batch was in
    last_imported_at: float = 0.0

    async def _store_batch(
        self, uidvalidity: int, batch: Sequence[FetchedMessage]
    ) -> tuple[list[int], dict[str, bytes]]:
        started = time.perf_counter()
        try:
            return await super()._store_batch(uidvalidity, batch)
        finally:
            self.steps.store_raw += time.perf_counter() - started
            if self.first_stored is None:
                self.first_stored = time.perf_counter()

    async def import_rows(
        self,
        row_ids: Sequence[int],
        settings: EmailInboxSettings,
        parsed: Mapping[str, Parsed] | None = None,
    ) -> None:
        started = time.perf_counter()
        try:
            await super().import_rows(row_ids, settings, parsed)
        finally:
            self.last_imported, self.last_imported_at = time.perf_counter(), time.time()
            self.steps.import_ += self.last_imported - started

    async def import_one(
        self, session: AsyncSession, row: InboundItem, settings: EmailInboxSettings
    ) -> str:
        # Counted before the batch commits (a batch that falls back to one by one would
        # count twice; the benchmark's mailbox never does, and its summary reads the table).
        status = await super().import_one(session, row, settings)
        self.steps.statuses[status] += 1
        self.on_import(status)
        return status

    async def _parse(self, raws: Mapping[str, bytes]) -> dict[str, Parsed]:
        started = time.perf_counter()
        try:
            return await super()._parse(raws)
        finally:
            self.steps.parse_pool += time.perf_counter() - started

    async def _after_import(
        self, mailbox: ImapMailbox, uids: Sequence[int], settings: EmailInboxSettings
    ) -> None:
        started = time.perf_counter()
        try:
            await super()._after_import(mailbox, uids, settings)
        finally:
            self.steps.mark_seen += time.perf_counter() - started


def timed_parse(steps: Steps) -> Callable[[], None]:
    """Time `parse_email` where the importer calls it itself (a message the batch hands to
    the per-message path; the rest are parsed in the pool); returns the undo."""
    original = channels.email.importer.parse_email  # type: ignore[attr-defined]

    def parse_email(raw: bytes) -> Any:
        started = time.perf_counter()
        try:
            return original(raw)
        finally:
            steps.parse += time.perf_counter() - started

    channels.email.importer.parse_email = parse_email  # type: ignore[attr-defined]

    def undo() -> None:
        channels.email.importer.parse_email = original  # type: ignore[attr-defined]

    return undo
