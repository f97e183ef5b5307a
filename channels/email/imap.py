"""A thin async IMAP transport over aioimaplib: connect, search, fetch raw bytes, flag, move.

No parsing and no database here: the poller owns the loop and the bookkeeping, the parser
owns the bytes. Every command runs under `asyncio.timeout`; after a timeout or a lost
connection the mailbox is unusable and every call raises `ImapError`, because aioimaplib's
protocol state is unknown at that point (the caller reconnects).

aioimaplib 2.0 has no STARTTLS; this module upgrades the connection itself with
`loop.start_tls` after the server's OK, re-reads the capabilities as RFC 3501 requires, and
never falls back to plain text.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import logging
import re
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Literal, Self, TypeVar

from aioimaplib import aioimaplib

log = logging.getLogger(__name__)

T = TypeVar("T")

_UIDVALIDITY = re.compile(rb"\[UIDVALIDITY (\d+)\]", re.IGNORECASE)
_UIDNEXT = re.compile(rb"\[UIDNEXT (\d+)\]", re.IGNORECASE)
_FETCH_HEADER = re.compile(rb"\d+ FETCH \((?P<attrs>.*)\{(?P<size>\d+)\}$", re.IGNORECASE)
_UID_ATTR = re.compile(rb"UID (\d+)", re.IGNORECASE)
_CHANGE = re.compile(rb"^\d+ (EXISTS|RECENT)\b", re.IGNORECASE)
_TRYCREATE = b"[TRYCREATE]"


@dataclass(frozen=True)
class ImapConfig:
    host: str
    port: int
    security: Literal["ssl", "starttls", "none"]
    username: str
    password: str
    folder: str = "INBOX"
    timeout: float = 30.0

    def __repr__(self) -> str:
        # The password must never reach a log line or a traceback through a repr.
        return (
            f"ImapConfig(host={self.host!r}, port={self.port}, security={self.security!r}, "
            f"username={self.username!r}, password='***', folder={self.folder!r}, "
            f"timeout={self.timeout})"
        )


@dataclass(frozen=True)
class FetchedMessage:
    uid: int
    raw: bytes


class ImapError(Exception):
    """Connection, authentication or protocol failure; the message never holds the password."""


@dataclass(frozen=True)
class _Response:
    """aioimaplib's `Response` (result, lines) with the tagged status text split off."""

    result: str
    lines: list[bytes]  # untagged lines and literals (bytes), in arrival order
    text: str  # the text of the tagged status line

    @classmethod
    def of(cls, response: Any) -> _Response:
        lines = [bytes(line) for line in response.lines]
        text = lines.pop().decode(errors="replace") if lines else ""
        return cls(str(response.result), lines, text)


class ImapMailbox:
    """One connection to one folder: `async with ImapMailbox(config) as box: ...`.

    `ssl_context` overrides the default verifying context for "ssl" and "starttls" (tests
    pass one that trusts their self-signed certificate).
    """

    uidvalidity: int
    uidnext: int | None

    def __init__(self, config: ImapConfig, *, ssl_context: ssl.SSLContext | None = None) -> None:
        self._config = config
        self._ssl_context = ssl_context
        self._client: Any = None  # aioimaplib.IMAP4: the only untyped object here
        self._capabilities: set[str] = set()
        self._lost: asyncio.Future[None] | None = None
        self._broken: str | None = None
        # The highest UID the caller has been told about (uids_after) or that existed at
        # SELECT: wait_for_changes reports anything above it.
        self._known_uid = 0
        self.uidnext = None

    # -- properties --------------------------------------------------------------------

    @property
    def capabilities(self) -> frozenset[str]:
        return frozenset(self._capabilities)

    @property
    def supports_idle(self) -> bool:
        return "IDLE" in self._capabilities

    @property
    def supports_move(self) -> bool:
        return "MOVE" in self._capabilities

    @property
    def _where(self) -> str:
        return f"{self._config.host}:{self._config.port}"

    # -- connection --------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        await self.open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def open(self) -> None:
        """Connect, secure, log in and select the folder; closes the socket on any failure."""
        try:
            await self._connect()
            await self._login()
            await self._select()
        except BaseException:
            self._abort("open failed")
            raise

    async def close(self) -> None:
        """Log out politely when the connection is healthy, then close the socket."""
        if self._client is None:
            return
        try:
            if self._broken is None:
                try:
                    await self._call("LOGOUT", lambda: self._client.logout(), check=False)
                except ImapError as error:
                    # The caller's work is done by now; a failed goodbye is worth a log line
                    # but not an exception that would make it look undone.
                    log.warning("IMAP logout from %s failed: %s", self._where, error)
        finally:
            self._abort("closed")
            self._client = None

    async def _connect(self) -> None:
        config = self._config
        security = config.security
        if security not in ("ssl", "starttls", "none"):
            raise ImapError(f"unknown IMAP security {security!r}")
        if security == "ssl":
            self._client = aioimaplib.IMAP4_SSL(
                config.host, config.port, timeout=config.timeout, ssl_context=self._tls_context()
            )
        else:
            self._client = aioimaplib.IMAP4(config.host, config.port, timeout=config.timeout)
        self._lost = asyncio.get_running_loop().create_future()
        self._client.protocol.conn_lost_cb = self._connection_lost
        try:
            async with asyncio.timeout(config.timeout):
                await self._client.wait_hello_from_server()
        except TimeoutError:
            raise ImapError(
                f"no IMAP greeting from {self._where} within {config.timeout}s"
            ) from None
        except ssl.SSLError as error:
            raise ImapError(f"TLS handshake with {self._where} failed: {error}") from error
        except OSError as error:
            raise ImapError(f"cannot connect to IMAP server {self._where}: {error}") from error
        except aioimaplib.AioImapException as error:
            raise ImapError(f"IMAP server {self._where} greeted badly: {error}") from error
        self._refresh_capabilities()
        if security == "starttls":
            await self._starttls()

    async def _starttls(self) -> None:
        if "STARTTLS" not in self._capabilities:
            raise ImapError(
                f"IMAP server {self._where} does not offer STARTTLS; refusing to continue "
                "in plain text (use security='ssl' or 'none' explicitly)"
            )
        protocol = self._client.protocol
        await self._call(
            "STARTTLS",
            lambda: protocol.execute(
                aioimaplib.Command("STARTTLS", protocol.new_tag(), loop=protocol.loop)
            ),
        )
        if protocol.incomplete_line:
            # Bytes sent after the OK but before the handshake would be trusted as if they
            # came over TLS (the STARTTLS injection attack): refuse them.
            raise ImapError(f"IMAP server {self._where} sent data before the TLS handshake")
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(self._config.timeout):
                transport = await loop.start_tls(
                    protocol.transport,
                    protocol,
                    self._tls_context(),
                    server_hostname=self._config.host,
                )
        except TimeoutError:
            self._broken = "TLS handshake timed out"
            raise ImapError(f"TLS handshake with {self._where} timed out") from None
        except (ssl.SSLError, OSError, ConnectionError) as error:
            self._broken = "TLS handshake failed"
            raise ImapError(f"TLS handshake with {self._where} failed: {error}") from error
        protocol.transport = transport
        # Capabilities seen before TLS could have been forged: ask again (RFC 3501 6.2.1).
        await self._call("CAPABILITY", lambda: protocol.capability(), raw=True)
        self._refresh_capabilities()

    async def _login(self) -> None:
        config = self._config
        if re.search(r"[\x00\r\n]", config.username + config.password):
            raise ImapError("IMAP username or password contains a NUL or line break")
        try:
            response = await self._call(
                "LOGIN",
                lambda: self._client.login(config.username, config.password),
                check=False,
            )
        except ImapError as error:
            raise ImapError(self._scrub(str(error))) from None
        if response.result != "OK":
            raise ImapError(
                f"IMAP login as {config.username!r} on {self._where} failed: "
                f"{self._scrub(response.text)}"
            )
        # The OK line may carry a capability list that differs from the pre-auth one.
        await self._call("CAPABILITY", lambda: self._client.protocol.capability(), raw=True)
        self._refresh_capabilities()

    async def _select(self) -> None:
        folder = self._config.folder
        response = await self._call("SELECT", lambda: self._client.select(_mailbox_arg(folder)))
        uidvalidity = uidnext = None
        for line in response.lines:
            if match := _UIDVALIDITY.search(line):
                uidvalidity = int(match.group(1))
            if match := _UIDNEXT.search(line):
                uidnext = int(match.group(1))
        if uidvalidity is None:
            raise ImapError(f"IMAP server {self._where} sent no UIDVALIDITY for {folder!r}")
        self.uidvalidity = uidvalidity
        self.uidnext = uidnext
        self._known_uid = uidnext - 1 if uidnext is not None else 0

    # -- mailbox operations ------------------------------------------------------------

    async def uids_after(self, last_uid: int) -> list[int]:
        """UIDs greater than `last_uid`, ascending, including mail that arrived just now."""
        if last_uid < 0:
            raise ValueError("last_uid must be >= 0")
        found = await self._search_after(last_uid)
        if found:
            self._known_uid = max(self._known_uid, found[-1])
        return found

    async def fetch(self, uids: Sequence[int], *, batch: int = 50) -> AsyncIterator[FetchedMessage]:
        """The exact stored bytes of each message, fetched `batch` at a time.

        Does not set \\Seen. UIDs that no longer exist are skipped silently. aioimaplib's
        own timer catches a stalled server; the outer deadline grows with the batch so a
        batch of large messages on a slow link is not cut off.
        """
        if batch < 1:
            raise ValueError("batch must be >= 1")
        ordered = [_checked_uid(uid) for uid in uids]
        for start in range(0, len(ordered), batch):
            chunk = ordered[start : start + batch]
            response = await self._call(
                "UID FETCH",
                functools.partial(self._client.uid, "FETCH", _uid_set(chunk), "(UID BODY.PEEK[])"),
                limit=self._config.timeout * len(chunk),
            )
            wanted = set(chunk)
            for message in _parse_fetch(response.lines, self._where):
                if message.uid in wanted:
                    yield message

    async def mark_seen(self, uids: Sequence[int]) -> None:
        await self._store(uids, "+FLAGS.SILENT", "(\\Seen)")

    async def move(self, uids: Sequence[int], folder: str) -> None:
        """Move messages, creating `folder` when the server says it does not exist."""
        uid_set = _uid_set(uids)
        target = _mailbox_arg(folder)
        if self.supports_move:
            await self._with_trycreate(
                folder, "UID MOVE", lambda: self._client.uid("MOVE", uid_set, target)
            )
            return
        await self._with_trycreate(
            folder, "UID COPY", lambda: self._client.uid("COPY", uid_set, target)
        )
        await self.delete(uids)

    async def delete(self, uids: Sequence[int]) -> None:
        """Flag \\Deleted and expunge just these UIDs (every \\Deleted one without UIDPLUS)."""
        await self._store(uids, "+FLAGS.SILENT", "(\\Deleted)")
        if "UIDPLUS" in self._capabilities:
            uid_set = _uid_set(uids)
            await self._call("UID EXPUNGE", lambda: self._client.uid("EXPUNGE", uid_set))
        else:
            await self._call("EXPUNGE", lambda: self._client.expunge())

    async def wait_for_changes(self, timeout: float) -> bool:  # noqa: ASYNC109 - the API
        """Wait up to `timeout` seconds for new mail; True when the server reported some.

        Uses IDLE when offered, else just sleeps (the caller polls). Returns True at once
        when a UID above the highest one `uids_after` returned already exists: aioimaplib
        drops an EXISTS that arrives on the response of an unrelated command, so an IDLE
        started then would sleep through mail that is already there. A True may be
        spurious (the caller searches and finds nothing); new mail is never slept through.
        """
        self._ensure_usable()
        self._drain_idle_queue()  # leftovers of an earlier IDLE; the search below decides
        if self.supports_idle and await self._has_unknown_uids():
            return True
        if not self.supports_idle:
            await asyncio.sleep(timeout)
            return False
        client, protocol = self._client, self._client.protocol
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        # aioimaplib stops the IDLE itself after its own timer; ours ends it first.
        idle_task: asyncio.Future[Any] = await self._call(
            "IDLE", lambda: client.idle_start(timeout=timeout + self._config.timeout), raw=True
        )
        try:
            changed = await self._idle_until(idle_task, protocol.idle_queue, deadline)
        except BaseException:
            idle_task.cancel()
            self._abort("IDLE interrupted")
            raise
        if not idle_task.done():
            client.idle_done()
        response = await self._call("IDLE", lambda: idle_task, check=False)
        if response.result != "OK":
            raise ImapError(f"IMAP IDLE on {self._where} failed: {response.text}")
        # EXISTS sent while the IDLE was being ended still counts.
        return self._drain_idle_queue() or changed

    async def _has_unknown_uids(self) -> bool:
        return bool(await self._search_after(self._known_uid))

    async def _search_after(self, last_uid: int) -> list[int]:
        # A server shows a session new mail only between commands (dovecot: after the
        # command that noticed it), so a SEARCH alone can miss what just arrived: NOOP first.
        await self._call("NOOP", lambda: self._client.noop())
        response = await self._call(
            "UID SEARCH", lambda: self._client.uid_search(f"UID {last_uid + 1}:*", charset=None)
        )
        uids: set[int] = set()
        for line in response.lines:
            uids.update(int(word) for word in line.split() if word.isdigit())
        # "N:*" always matches the highest UID, even when it is below N (RFC 3501 6.4.8).
        return sorted(uid for uid in uids if uid > last_uid)

    # -- helpers -----------------------------------------------------------------------

    async def _idle_until(
        self, idle_task: asyncio.Future[Any], queue: asyncio.Queue[Any], deadline: float
    ) -> bool:
        assert self._lost is not None
        loop = asyncio.get_running_loop()
        while (remaining := deadline - loop.time()) > 0:
            getter = asyncio.ensure_future(queue.get())
            try:
                done, _ = await asyncio.wait(
                    {getter, idle_task, self._lost},
                    timeout=remaining,
                    return_when=asyncio.FIRST_COMPLETED,
                )
            finally:
                getter.cancel()
            if getter in done and _has_change(getter.result()):
                return True
            if idle_task in done or self._lost in done:
                # The server ended the IDLE (or the connection): the caller re-checks.
                return True
        return False

    def _drain_idle_queue(self) -> bool:
        queue = self._client.protocol.idle_queue
        changed = False
        while not queue.empty():
            changed = _has_change(queue.get_nowait()) or changed
        return changed

    async def _store(self, uids: Sequence[int], action: str, flags: str) -> None:
        uid_set = _uid_set(uids)
        await self._call("UID STORE", lambda: self._client.uid("STORE", uid_set, action, flags))

    async def _with_trycreate(
        self, folder: str, what: str, command: Callable[[], Awaitable[Any]]
    ) -> None:
        response = await self._call(what, command, check=False)
        if response.result != "OK" and _TRYCREATE in response.text.encode():
            create = await self._call(
                "CREATE", lambda: self._client.create(_mailbox_arg(folder)), check=False
            )
            if create.result != "OK" and "ALREADYEXISTS" not in create.text.upper():
                raise ImapError(f"IMAP CREATE {folder!r} on {self._where} failed: {create.text}")
            response = await self._call(what, command, check=False)
        if response.result != "OK":
            raise ImapError(f"IMAP {what} to {folder!r} on {self._where} failed: {response.text}")

    async def _call(
        self,
        what: str,
        command: Callable[[], Awaitable[Any]],
        *,
        check: bool = True,
        raw: bool = False,
        limit: float | None = None,
    ) -> Any:
        """Run one aioimaplib call under a deadline, racing the connection's loss.

        Returns a `_Response` (raising on a non-OK result when `check`), or the call's own
        result when `raw`.
        """
        self._ensure_usable()
        assert self._lost is not None
        task = asyncio.ensure_future(command())
        limit = self._config.timeout if limit is None else limit
        try:
            async with asyncio.timeout(limit):
                await asyncio.wait({task, self._lost}, return_when=asyncio.FIRST_COMPLETED)
        except TimeoutError:
            task.cancel()
            self._abort(f"{what} timed out")
            raise ImapError(f"IMAP {what} on {self._where} timed out after {limit}s") from None
        except BaseException:
            # Cancelled mid-command: aioimaplib still waits for the reply, so the
            # connection cannot be reused.
            task.cancel()
            self._abort(f"{what} cancelled")
            raise
        if not task.done():
            # The reply may have been read just before the socket closed (LOGOUT does this):
            # give the task the few loop turns it needs to finish.
            await asyncio.wait({task}, timeout=1.0)
        if not task.done():
            task.cancel()
            self._abort("connection lost")
            raise ImapError(f"IMAP connection to {self._where} lost during {what}")
        try:
            result = task.result()
        except (aioimaplib.CommandTimeout, TimeoutError):
            self._abort(f"{what} timed out")
            raise ImapError(f"IMAP {what} on {self._where} timed out after {limit}s") from None
        except (aioimaplib.AioImapException, OSError) as error:
            self._abort(f"{what} failed")
            raise ImapError(
                f"IMAP {what} on {self._where} failed: {self._scrub(str(error))}"
            ) from None
        if raw:
            return result
        response = _Response.of(result)
        if check and response.result != "OK":
            detail = f"{response.result} {self._scrub(response.text)}"
            raise ImapError(f"IMAP {what} on {self._where} failed: {detail}")
        return response

    def _ensure_usable(self) -> None:
        if self._client is None:
            raise ImapError("IMAP mailbox is not open")
        if self._broken is not None:
            raise ImapError(
                f"IMAP connection to {self._where} is unusable ({self._broken}); reconnect"
            )

    def _connection_lost(self, exc: Exception | None) -> None:
        if self._lost is not None and not self._lost.done():
            self._lost.set_result(None)

    def _abort(self, reason: str) -> None:
        """Mark the connection unusable and close the socket without a goodbye."""
        if self._broken is None:
            self._broken = reason
        transport = getattr(getattr(self._client, "protocol", None), "transport", None)
        if transport is not None:
            transport.close()

    def _refresh_capabilities(self) -> None:
        self._capabilities = {str(c).upper() for c in self._client.protocol.capabilities}

    def _tls_context(self) -> ssl.SSLContext:
        if self._ssl_context is not None:
            return self._ssl_context
        return ssl.create_default_context(ssl.Purpose.SERVER_AUTH)

    def _scrub(self, text: str) -> str:
        password = self._config.password
        return text.replace(password, "***") if password else text


def _parse_fetch(lines: Iterable[bytes], where: str) -> Iterator[FetchedMessage]:
    """Pair each `N FETCH (... BODY[] {size}` header with the literal that follows it."""
    items = list(lines)
    for index, line in enumerate(items):
        match = _FETCH_HEADER.match(line)
        if match is None or b"BODY[]" not in match.group("attrs").upper():
            continue
        if index + 1 >= len(items):
            raise ImapError(f"IMAP FETCH from {where}: literal missing after {line[:80]!r}")
        raw = items[index + 1]
        if len(raw) != int(match.group("size")):
            raise ImapError(f"IMAP FETCH from {where}: literal size mismatch in {line[:80]!r}")
        uid_match = _UID_ATTR.search(match.group("attrs"))
        if uid_match is None and index + 2 < len(items):
            # Some servers put UID after the literal: `BODY[] {n}` ... ` UID 7)`.
            uid_match = _UID_ATTR.search(items[index + 2])
        if uid_match is None:
            raise ImapError(f"IMAP FETCH from {where}: no UID in {line[:80]!r}")
        yield FetchedMessage(uid=int(uid_match.group(1)), raw=raw)


def _has_change(lines: Any) -> bool:
    return isinstance(lines, list) and any(
        isinstance(line, bytes | bytearray) and _CHANGE.match(bytes(line)) for line in lines
    )


def _checked_uid(uid: int) -> int:
    if isinstance(uid, bool) or not isinstance(uid, int) or uid < 1:
        raise ValueError(f"not an IMAP UID: {uid!r}")
    return uid


def _uid_set(uids: Sequence[int]) -> str:
    """`1:3,7,9:10` for [1, 2, 3, 7, 9, 10]: short command lines for long runs."""
    if isinstance(uids, int) or not uids:
        raise ValueError(f"not a non-empty sequence of IMAP UIDs: {uids!r}")
    ordered = sorted({_checked_uid(uid) for uid in uids})
    parts: list[str] = []
    start = prev = ordered[0]
    for uid in ordered[1:]:
        if uid != prev + 1:
            parts.append(f"{start}:{prev}" if prev != start else str(start))
            start = uid
        prev = uid
    parts.append(f"{start}:{prev}" if prev != start else str(start))
    return ",".join(parts)


def _mailbox_arg(name: str) -> str:
    """A mailbox name as an IMAP argument: modified UTF-7 (RFC 3501 5.1.3), quoted."""
    if re.search(r"[\x00\r\n]", name):
        raise ImapError("IMAP folder names cannot contain NUL or line breaks")
    encoded: list[str] = []
    pending: list[str] = []

    def flush() -> None:
        if pending:
            utf16 = "".join(pending).encode("utf-16-be")
            encoded.append(
                "&" + base64.b64encode(utf16).decode().rstrip("=").replace("/", ",") + "-"
            )
            pending.clear()

    for char in name:
        if 0x20 <= ord(char) <= 0x7E:
            flush()
            encoded.append("&-" if char == "&" else char)
        else:
            pending.append(char)
    flush()
    return aioimaplib.quoted("".join(encoded))  # type: ignore[no-any-return]
