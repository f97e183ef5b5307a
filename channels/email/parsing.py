"""Parsing mail off the event loop: a process pool, so a second core parses the next batch
while the first imports this one.

`parse_email` is pure CPU work (MIME, charsets, HTML sanitizing, quote splitting): a few
milliseconds a message, which in the poller's own process would hold up its database
round trips and every other task of the event loop. A batch goes to the pool as one call
(one pickle each way, not one per message); a message that cannot be parsed comes back as
its `EmailParseError` text, for the importer to store as failed.

One pool per process, started on first use with the `spawn` method (a forked copy of a
process with open sockets and an event loop is asking for trouble) and shared by every
inbox's poller. `workers=0` parses inline (tests, and a machine with one core).
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
from collections.abc import Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from channels.email.parse import EmailParseError, ParsedEmail, parse_email

# What the pool returns for each message: the parse, why it failed, or None for an
# unexpected error, which the importer meets again (and records) parsing it itself.
Parsed = ParsedEmail | EmailParseError | None


def parse_all(raws: Sequence[bytes]) -> list[Parsed]:
    """Runs in the pool's process."""
    results: list[Parsed] = []
    for raw in raws:
        try:
            results.append(parse_email(raw))
        except EmailParseError as exc:
            results.append(exc)
        except Exception:  # a bug on one message; the importer's own parse reports it
            results.append(None)
    return results


def default_workers() -> int:
    """One process beside the event loop's: with two cores, one imports and one parses."""
    return 1 if (os.cpu_count() or 1) > 1 else 0


class MailParser:
    def __init__(self, workers: int | None = None) -> None:
        self.workers = default_workers() if workers is None else workers
        self._pool: Executor | None = None

    def _executor(self) -> Executor:
        if self._pool is None:
            context = multiprocessing.get_context("spawn")
            self._pool = ProcessPoolExecutor(max_workers=self.workers, mp_context=context)
        return self._pool

    async def parse(self, raws: Sequence[bytes]) -> list[Parsed]:
        if not raws:
            return []
        if self.workers <= 0:
            return parse_all(raws)
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._executor(), parse_all, list(raws))
        except BrokenProcessPool:
            # The parser process died (killed, out of memory): start a new one next time
            # and parse this batch here, so the import goes on.
            self.close()
            return parse_all(raws)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None


_shared: MailParser | None = None


def shared_parser() -> MailParser:
    """The process's pool, for every poller in it."""
    global _shared
    if _shared is None:
        _shared = MailParser()
    return _shared


def close_shared_parser() -> None:
    """Stop the process's parser pool (the worker's shutdown; the test session's end):
    a pool left running outlives its parent when that exits without its atexit hooks."""
    global _shared
    if _shared is not None:
        _shared.close()
        _shared = None
