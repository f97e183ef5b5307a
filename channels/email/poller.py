"""Email inboxes' import loops: one IMAP connection per inbox, IDLE where offered.

Order of work for each batch, chosen so nothing is lost or imported twice:
1. the raw messages are stored (compressed) and the inbox's `last_uid` advanced, in one
   transaction: a crash before this re-reads the batch, a crash after finds it stored;
2. the stored messages are imported in one transaction (app.ingest.batch: a few statements
   for the whole batch, not several for each message); if one of them breaks it, each is
   imported again in its own, so one bad message never blocks the ones behind it (it is
   kept, marked failed, visible to admins);
3. only then is the mailbox touched (mark seen, move or delete: one command per batch) and
   `settled_uid` advanced; a crash before that is finished by the next sync.
A message already stored under another UID (the server's UIDVALIDITY changed) is
recognised by its Message-ID and not stored again.

Parsing happens in a process pool (channels.email.parsing), one batch ahead: while batch
N is imported here, batch N+1 is parsed on the other core.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Mapping, Sequence
from email.parser import BytesHeaderParser
from email.policy import compat32

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.attachments.storage import AttachmentStore
from app.clock import Clock
from app.db.engine import SessionMaker, transaction
from app.db.notify import Listener
from app.inbound.models import InboundItem
from app.inbound.service import (
    Delivery,
    decompress,
    known_external_ids,
    locked_pending,
    pending_ids,
    store_deliveries,
)
from app.inboxes.models import INBOXES_CHANNEL, Inbox
from app.inboxes.service import inbox_secrets
from app.mail.models import MailboxState
from app.mail.service import mailbox_state
from app.security.crypto import SecretBox
from app.supervisor import Supervisor
from channels.email.addresses import hashed_id, message_id, raw_header
from channels.email.imap import FetchedMessage, ImapConfig, ImapError, ImapMailbox
from channels.email.importer import EmailBatch, import_email
from channels.email.parsing import MailParser, Parsed, shared_parser
from channels.email.settings import EmailInboxSettings, read_email_settings

log = logging.getLogger(__name__)
BATCH = 50
IDLE_SECONDS = 60  # wake at least this often to pick up admin retries and setting changes
MAX_BACKOFF_SECONDS = 300.0
LOCK_NAMESPACE = 7_311  # pg advisory lock (namespace, inbox id): one poller per inbox
POLLER_PREFIX = "mail-poller:"  # the supervisor's name of each inbox's poller


def message_id_of(raw: bytes) -> str:
    """The id `parse_email` will give this message, from its headers alone."""
    headers = BytesHeaderParser(policy=compat32).parsebytes(raw)
    return message_id(raw_header(headers, "Message-ID")) or hashed_id(raw)


class InboxPoller:
    def __init__(
        self,
        inbox_id: int,
        *,
        sessionmaker: SessionMaker,
        store: AttachmentStore,
        box: SecretBox,
        clock: Clock,
        parser: MailParser | None = None,
    ) -> None:
        self.inbox_id = inbox_id
        self.sessionmaker = sessionmaker
        self.store = store
        self.box = box
        self.clock = clock
        self.parser = parser or shared_parser()
        self._batch: EmailBatch | None = None  # while a batch imports

    async def load_settings(self) -> EmailInboxSettings | None:
        """None when the inbox is gone, inactive or no longer email."""
        async with self.sessionmaker() as session:
            inbox = await session.get(Inbox, self.inbox_id)
            if inbox is None or not inbox.is_active or inbox.channel != "email":
                return None
            return read_email_settings({**inbox.settings, **inbox_secrets(inbox, self.box)})

    @staticmethod
    def imap_config(settings: EmailInboxSettings) -> ImapConfig:
        return ImapConfig(
            host=settings.imap_host,
            port=settings.imap_port,
            security=settings.imap_security,
            username=settings.imap_username,
            password=settings.imap_password,
            folder=settings.imap_folder,
        )

    async def import_one(
        self, session: AsyncSession, row: InboundItem, settings: EmailInboxSettings
    ) -> str:
        """Import one locked `pending` row in the caller's transaction (in a batch: its
        writes may wait for the end of the batch)."""
        if self._batch is not None:
            return await self._batch.import_item(row)
        return await import_email(
            session, row, settings=settings, store=self.store, now=self.clock()
        )

    async def import_rows(
        self,
        row_ids: Sequence[int],
        settings: EmailInboxSettings,
        parsed: Mapping[str, Parsed] | None = None,
    ) -> None:
        """Import stored rows in one transaction (one commit for the batch, not for each
        message); should any of them fail, import them again one transaction each, so the
        bad one is marked failed alone and the others go in.

        `parsed`: the messages parsed already, by Message-ID (the rows' external id)."""
        if not row_ids:
            return
        try:
            async with transaction(self.sessionmaker) as session:
                # Held so the session's identity map (weak references) keeps it for ingest.
                inbox = await session.get(Inbox, self.inbox_id)
                rows = await locked_pending(session, row_ids)
                if parsed is None:
                    raws = [decompress(row.raw_compressed) for row in rows]
                    by_row = dict(
                        zip([r.id for r in rows], await self.parser.parse(raws), strict=True)
                    )
                else:
                    by_row = {r.id: parsed.get(r.external_id or "") for r in rows}
                self._batch = EmailBatch(
                    session,
                    rows,
                    by_row,
                    inbox_id=self.inbox_id,
                    settings=settings,
                    store=self.store,
                    now=self.clock(),
                )
                try:
                    for row in rows:
                        await self.import_one(session, row, settings)
                    await self._batch.finish()
                finally:
                    self._batch = None
                del inbox
        except Exception:  # one row's bug or bad data; the per-row pass says which
            log.warning(
                "inbox %s: a batch import failed; importing one by one",
                self.inbox_id,
                exc_info=True,
            )
            for row_id in row_ids:
                await self.import_row(row_id, settings)

    async def import_row(self, row_id: int, settings: EmailInboxSettings) -> str:
        try:
            async with transaction(self.sessionmaker) as session:
                row = await session.get(InboundItem, row_id, with_for_update=True)
                if row is None or row.status != "pending":
                    return row.status if row else "missing"
                return await self.import_one(session, row, settings)
        except Exception as exc:  # a bug or bad data in one message must not stop the inbox
            log.exception("inbox %s: importing stored email %s failed", self.inbox_id, row_id)
            async with transaction(self.sessionmaker) as session:
                row = await session.get(InboundItem, row_id, with_for_update=True)
                if row is not None:
                    row.status = "failed"
                    row.error = f"import failed: {type(exc).__name__}: {exc}"[:2000]
                    row.processed_at = self.clock()
            return "failed"

    async def import_pending(self, settings: EmailInboxSettings) -> int:
        """Stored but not yet imported: left by a crash, or put back by an admin's retry."""
        async with self.sessionmaker() as session:
            ids = await pending_ids(session, self.inbox_id)
        for start in range(0, len(ids), BATCH):
            await self.import_rows(ids[start : start + BATCH], settings)
        return len(ids)

    async def _store_batch(
        self, uidvalidity: int, batch: Sequence[FetchedMessage]
    ) -> tuple[list[int], dict[str, bytes]]:
        """Store the batch raw; returns the new items' ids and their bytes by Message-ID."""
        ids = {f.uid: message_id_of(f.raw) for f in batch}
        async with transaction(self.sessionmaker) as session:
            state = await session.get(MailboxState, self.inbox_id, with_for_update=True)
            assert state is not None
            known = await known_external_ids(session, self.inbox_id, list(ids.values()))
            new: dict[str, FetchedMessage] = {}
            for fetched in batch:
                # Skipped: the same message under an old UIDVALIDITY, or twice in the folder.
                if ids[fetched.uid] not in known:
                    new.setdefault(ids[fetched.uid], fetched)
            stored = await store_deliveries(
                session,
                inbox_id=self.inbox_id,
                channel_name="email",
                deliveries=[
                    Delivery(
                        delivery_key=f"{uidvalidity}:{f.uid}",
                        raw=f.raw,
                        content_type="message/rfc822",
                        external_id=message_id,
                        meta={"uidvalidity": uidvalidity, "uid": f.uid},
                    )
                    for message_id, f in new.items()
                ],
                now=self.clock(),
            )
            state.last_uid = max(state.last_uid, *(f.uid for f in batch))
            state.last_polled_at, state.last_error = self.clock(), None
        return stored, {message_id: f.raw for message_id, f in new.items()}

    async def _after_import(
        self, mailbox: ImapMailbox, uids: Sequence[int], settings: EmailInboxSettings
    ) -> None:
        """Mark seen, move or delete, one IMAP command for the whole batch; then record it."""
        if uids:
            if settings.after_import == "move" and settings.move_to_folder:
                await mailbox.move(uids, settings.move_to_folder)
            elif settings.after_import == "delete":
                await mailbox.delete(uids)
            else:
                await mailbox.mark_seen(uids)
            async with transaction(self.sessionmaker) as session:
                state = await session.get(MailboxState, self.inbox_id, with_for_update=True)
                assert state is not None
                state.settled_uid = max(state.settled_uid, *uids)

    async def _settle_leftovers(
        self, mailbox: ImapMailbox, state: MailboxState, settings: EmailInboxSettings
    ) -> None:
        """Finish the after-import action a crash interrupted: UIDs up to `last_uid` are
        imported, those above `settled_uid` that are still in the folder were never acted on."""
        if state.settled_uid >= state.last_uid:
            return
        leftover = [u for u in await mailbox.uids_after(state.settled_uid) if u <= state.last_uid]
        await self._after_import(mailbox, leftover, settings)

    async def sync(self, mailbox: ImapMailbox, settings: EmailInboxSettings) -> int:
        """Import everything new in the folder; returns how many messages were stored."""
        await self.import_pending(settings)
        async with transaction(self.sessionmaker) as session:
            state = await mailbox_state(
                session, self.inbox_id, folder=settings.imap_folder, uidvalidity=mailbox.uidvalidity
            )
        await self._settle_leftovers(mailbox, state, settings)
        uids = await mailbox.uids_after(state.last_uid)
        stored_count = 0
        batch: list[FetchedMessage] = []
        # The batch stored and being parsed, imported after the next one is stored.
        ahead: tuple[list[FetchedMessage], list[int], asyncio.Task[dict[str, Parsed]]] | None
        ahead = None

        async def import_ahead() -> None:
            nonlocal stored_count, ahead
            if ahead is None:
                return
            fetched, stored, parsing = ahead
            ahead = None
            await self.import_rows(stored, settings, await parsing)
            await self._after_import(mailbox, [f.uid for f in fetched], settings)
            stored_count += len(stored)

        async def flush() -> None:
            stored, raws = await self._store_batch(mailbox.uidvalidity, batch)
            parsing = asyncio.create_task(self._parse(raws))
            try:
                await import_ahead()
            except BaseException:
                parsing.cancel()
                raise
            nonlocal ahead
            ahead = (list(batch), stored, parsing)
            batch.clear()

        try:
            async for fetched in mailbox.fetch(uids, batch=BATCH):
                batch.append(fetched)
                if len(batch) >= BATCH:
                    await flush()
            if batch:
                await flush()
            await import_ahead()
        finally:
            if ahead is not None:
                ahead[2].cancel()
        return stored_count

    async def _parse(self, raws: Mapping[str, bytes]) -> dict[str, Parsed]:
        """The stored messages parsed (in the pool), by Message-ID."""
        return dict(zip(raws, await self.parser.parse(list(raws.values())), strict=True))

    async def _record_error(self, error: str) -> None:
        async with transaction(self.sessionmaker) as session:
            state = await session.get(MailboxState, self.inbox_id, with_for_update=True)
            if state is not None:
                state.last_error = error[:2000]

    async def run(self) -> None:
        """Poll until cancelled or the inbox goes away; reconnect with backoff on errors."""
        backoff = 1.0
        while (settings := await self.load_settings()) is not None:
            try:
                async with ImapMailbox(self.imap_config(settings)) as mailbox:
                    backoff = 1.0
                    while True:
                        await self.sync(mailbox, settings)
                        wait = (
                            IDLE_SECONDS
                            if mailbox.supports_idle
                            else settings.poll_interval_seconds
                        )
                        await mailbox.wait_for_changes(min(wait, IDLE_SECONDS))
                        if await self.load_settings() != settings:
                            break  # reconnect with the new settings (or stop)
            except (ImapError, OSError, TimeoutError) as exc:
                log.warning("inbox %s: %s; reconnecting in %.0fs", self.inbox_id, exc, backoff)
                await self._record_error(str(exc))
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)


async def run_owned(poller: InboxPoller, engine: AsyncEngine) -> bool:
    """Run the poller if no other process polls this inbox; False if one does."""
    async with engine.connect() as connection:
        connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
        locked = await connection.scalar(
            select(func.pg_try_advisory_lock(LOCK_NAMESPACE, poller.inbox_id))
        )
        if not locked:
            return False
        try:
            await poller.run()
        finally:
            await connection.scalar(
                select(func.pg_advisory_unlock(LOCK_NAMESPACE, poller.inbox_id))
            )
    return True


def poller_component(inbox_id: int) -> str:
    return f"{POLLER_PREFIX}{inbox_id}"


async def sync_mail_pollers(
    sessionmaker: SessionMaker,
    engine: AsyncEngine,
    *,
    store: AttachmentStore,
    box: SecretBox,
    clock: Clock,
    supervisor: Supervisor,
) -> None:
    """One supervised poller per active email inbox, none for the others.

    A poller whose inbox another process polls returns at once (`run_owned`) and is tried
    again at the next sync, so a process takes over the inboxes of one that stopped."""
    async with sessionmaker() as session:
        active = set(
            (
                await session.scalars(
                    select(Inbox.id).where(Inbox.channel == "email", Inbox.is_active)
                )
            ).all()
        )
    wanted = {poller_component(inbox_id): inbox_id for inbox_id in active}
    for name in supervisor.names():
        if name.startswith(POLLER_PREFIX) and name not in wanted:
            await supervisor.cancel(name)
    for name, inbox_id in wanted.items():
        poller = InboxPoller(inbox_id, sessionmaker=sessionmaker, store=store, box=box, clock=clock)
        supervisor.run(name, functools.partial(run_owned, poller, engine))


async def run_mail_pollers(
    sessionmaker: SessionMaker,
    engine: AsyncEngine,
    *,
    store: AttachmentStore,
    box: SecretBox,
    clock: Clock,
    supervisor: Supervisor,
    refresh_seconds: float = 30.0,
) -> None:
    """The mail supervisor: keeps one poller per active email inbox across all worker
    processes. The pollers run under `supervisor` beside this loop, so a crash here (the
    database away, say) stops no poller; the supervisor restarts this loop.

    An inbox created, changed or deactivated is acted on at once (NOTIFY from a trigger on
    `inboxes`): a changed inbox's poller starts again with the new settings. The rescan
    every `refresh_seconds` catches a poller whose inbox another process stopped polling.
    """
    async with Listener(engine, INBOXES_CHANNEL) as listener:
        while True:
            for payload in set(listener.take()):
                # Stopped here; the sync below starts it again if the inbox is still wanted.
                await supervisor.cancel(poller_component(int(payload)))
            await sync_mail_pollers(
                sessionmaker, engine, store=store, box=box, clock=clock, supervisor=supervisor
            )
            await listener.wait(refresh_seconds)
