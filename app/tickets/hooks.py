"""The lifecycle's extension points: what runs after a ticket changes or a message arrives.

SLA recomputation, routing, realtime and search indexing plug in here without the lifecycle
knowing them: the composition root (app.main, app.worker, app.cli) builds one
`LifecycleHooks` and installs it on its sessionmaker with `install_hooks`, so every session
carries it in `session.info`. A hook runs inside the transaction of the change, after the
change and its events are written (flushed), and may write in the same session; raising
aborts the change. Keep hooks quick: slow work belongs in a job fed by the outbox.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import ColumnElement
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.messages.models import Message
from app.tickets.events import EventActor
from app.tickets.models import Ticket

HOOKS_KEY = "lifecycle_hooks"


@dataclass(frozen=True)
class TicketChanged:
    """A ticket was opened or its fields changed (`changes`: field -> (before, after))."""

    ticket: Ticket
    event_type: str
    seq: int
    changes: dict[str, tuple[Any, Any]]
    actor: EventActor
    now: datetime

    @property
    def created(self) -> bool:
        return self.event_type == "ticket.created"


@dataclass(frozen=True)
class MessageAppended:
    """A message or note was stored on a ticket (inbound, reply, note, system message)."""

    ticket: Ticket
    message: Message
    seq: int
    actor: EventActor
    now: datetime


TicketHook = Callable[[AsyncSession, TicketChanged], Awaitable[None]]
TicketsHook = Callable[[AsyncSession, Sequence[TicketChanged]], Awaitable[None]]
MessageHook = Callable[[AsyncSession, MessageAppended], Awaitable[None]]


@dataclass(frozen=True)
class Derived:
    """What the message hooks write for a quiet message (app.tickets.lifecycle.quick):
    derived columns of the ticket, and channels to NOTIFY (delivered at commit, as their
    own writes would be)."""

    values: dict[str, Any] = field(default_factory=dict)
    notify: tuple[str, ...] = ()


class QuietDerivation(Protocol):
    def reads(self) -> Sequence[ColumnElement[Any]]:
        """Labelled columns, correlated to `tickets`, read with the ticket's row."""
        ...

    def derive(
        self, ticket: Ticket, read: Mapping[Any, Any], *, seq: int, now: datetime
    ) -> Derived | None:
        """What `after_message_appended` would write for a customer's message stored at
        `seq` and `now` on `ticket` (as read, with `reads`); None if this message needs
        the full path (a met target's actions, say)."""
        ...


class QuietMessageHooks(Protocol):
    async def prepare(self, session: AsyncSession) -> QuietDerivation:
        """The derivation under the rules in force (cached: this costs no round trip)."""
        ...


@dataclass
class LifecycleHooks:
    after_ticket_change: list[TicketHook] = field(default_factory=list)
    after_message_appended: list[MessageHook] = field(default_factory=list)
    # Set by the composition root when every message hook, for a customer's message that
    # changes no ticket field on a ticket past its first message, writes only what this
    # derives; without it, such messages take the full path.
    quiet_message: QuietMessageHooks | None = None
    # A ticket hook's batch form: given every change of a batch (`run_ticket_hooks_many`),
    # it must do what the hook does for each change, in fewer queries.
    batch_forms: dict[TicketHook, TicketsHook] = field(default_factory=dict)

    def add_ticket_hook(self, hook: TicketHook, *, batch: TicketsHook | None = None) -> None:
        self.after_ticket_change.append(hook)
        if batch is not None:
            self.batch_forms[hook] = batch


NO_HOOKS = LifecycleHooks()


def install_hooks(sessionmaker: async_sessionmaker[AsyncSession], hooks: LifecycleHooks) -> None:
    """Every session this sessionmaker makes from now on runs these hooks."""
    info = dict(sessionmaker.kw.get("info") or {})
    info[HOOKS_KEY] = hooks
    sessionmaker.configure(info=info)


def hooks_of(session: AsyncSession) -> LifecycleHooks:
    hooks = session.info.get(HOOKS_KEY)
    return hooks if isinstance(hooks, LifecycleHooks) else NO_HOOKS


async def run_ticket_hooks(session: AsyncSession, change: TicketChanged) -> None:
    for hook in hooks_of(session).after_ticket_change:
        await hook(session, change)


async def run_ticket_hooks_many(session: AsyncSession, changes: Sequence[TicketChanged]) -> None:
    """The hooks of many changes written together: each hook once with all of them (its
    batch form), or once per change when it has none; hooks run in their order."""
    if not changes:
        return
    hooks = hooks_of(session)
    for hook in hooks.after_ticket_change:
        batch = hooks.batch_forms.get(hook)
        if batch is not None:
            await batch(session, changes)
        else:
            for change in changes:
                await hook(session, change)


async def run_message_hooks(session: AsyncSession, appended: MessageAppended) -> None:
    for hook in hooks_of(session).after_message_appended:
        await hook(session, appended)
