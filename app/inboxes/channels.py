"""The channel registry: every channel, declared once, with what it supports.

Check constraints (tickets.channel, inboxes.channel, contact_identities.kind), the API's
enums, where a reply goes and whether a job delivers it all derive from this table. Adding
a channel is a line here plus its adapter package in `channels/` (and a migration for the
check constraints, which `tests/app/inboxes/test_channels.py` compares with this table).

This module imports nothing of the project: models, schemas and services of every domain
read it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Literal


@dataclass(frozen=True)
class ChannelSpec:
    name: str
    title: str
    # The contact identities a reply on this channel goes to, in order of preference.
    identity_kinds: tuple[str, ...]
    # Admins configure inboxes of this channel (`api` is an inbox for integrations; `web`
    # marks tickets agents opened by hand and has none).
    has_inboxes: bool = True
    # Replies are handed to the channel's adapter by the `send_outbound` job; on the others
    # a reply is just stored.
    outbound: bool = True
    # Follow-ups are recognised by the provider's reply headers (email's References).
    threads_by_headers: bool = False
    # A new message continues the contact's open conversation in the inbox (chat, social).
    conversational: bool = False
    attachments: bool = True
    # How long after the customer's last message the provider lets us answer (WhatsApp
    # and Messenger: 24 hours); None: any time.
    reply_window: timedelta | None = None
    # The provider delivers by webhook to /webhooks/{channel}/{inbox public id}.
    webhook: bool = False


DAY = timedelta(hours=24)

REGISTRY: dict[str, ChannelSpec] = {
    spec.name: spec
    for spec in (
        ChannelSpec("email", "Email", ("email",), threads_by_headers=True),
        # Chat replies reach the visitor through the realtime hub, not a send job.
        ChannelSpec("chat", "Live chat", ("widget",), conversational=True, outbound=False),
        ChannelSpec(
            "whatsapp", "WhatsApp", ("whatsapp", "phone"), conversational=True,
            reply_window=DAY, webhook=True,
        ),
        ChannelSpec(
            "messenger", "Messenger", ("messenger",), conversational=True, reply_window=DAY,
            webhook=True,
        ),
        ChannelSpec(
            "instagram", "Instagram", ("instagram",), conversational=True, reply_window=DAY,
            webhook=True,
        ),
        ChannelSpec("telegram", "Telegram", ("telegram",), conversational=True, webhook=True),
        ChannelSpec("api", "API", ("email",), outbound=False),
        ChannelSpec("web", "Agent-created", ("email",), has_inboxes=False, outbound=False),
    )
}  # fmt: skip

CHANNEL_NAMES: tuple[str, ...] = tuple(REGISTRY)
INBOX_CHANNELS: tuple[str, ...] = tuple(n for n, s in REGISTRY.items() if s.has_inboxes)
# Every kind of address a contact can be reached at: the channels' kinds, in first-seen order.
IDENTITY_KINDS: tuple[str, ...] = tuple(
    dict.fromkeys(kind for spec in REGISTRY.values() for kind in spec.identity_kinds)
)


def channel(name: str) -> ChannelSpec:
    """The spec of a channel the database allows (a KeyError is a bug, not bad input)."""
    return REGISTRY[name]


# The API's enums. mypy cannot read a Literal built from a tuple, so it sees `str`; msgspec
# and the OpenAPI document see the Literal and name every allowed value.
if TYPE_CHECKING:
    ChannelName = str
    InboxChannelName = str
    IdentityKindName = str
else:
    ChannelName = Literal[CHANNEL_NAMES]
    InboxChannelName = Literal[INBOX_CHANNELS]
    IdentityKindName = Literal[IDENTITY_KINDS]
