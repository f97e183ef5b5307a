from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec

from app.agents.schemas import Name
from app.inboxes.channels import InboxChannelName
from app.schemas import Id, Input, Output


class InboxCreate(Input):
    """`settings` values are strings, numbers, booleans or null (null: not set). Secret
    keys (see `app.inboxes.service.is_secret_key`) are split off and stored encrypted."""

    name: Name
    channel: InboxChannelName
    # Typed `Any` and checked by the service: Litestar reports a type error at a body field
    # whose name is also a dependency's ("settings") as a 500, not a 422.
    settings: Any = msgspec.field(default_factory=dict)
    team_id: Id | None = None
    is_active: bool = True


class InboxUpdate(Input):
    """`settings` is merged into the stored settings: a key given replaces its value, a key
    given as null is removed, a key left out keeps its value (secret keys too). The channel
    is fixed when the inbox is created."""

    name: Name | msgspec.UnsetType = msgspec.UNSET
    settings: Any = msgspec.UNSET  # a JSON object; see InboxCreate.settings
    team_id: Id | msgspec.UnsetType | None = msgspec.UNSET
    is_active: bool | msgspec.UnsetType = msgspec.UNSET


class InboxOut(Output):
    id: int
    name: str
    channel: str
    settings: dict[str, Any]
    # Names of the secret settings that are set; their values are never returned.
    secret_keys: list[str]
    # False when the stored secrets cannot be decrypted (RELAYDESK_SECRET_KEY changed):
    # send the secrets again.
    secrets_readable: bool
    team_id: int | None
    is_active: bool
    # Goes into webhook URLs and the chat widget's script tag.
    public_key: str
    created_at: datetime
    updated_at: datetime


class ConnectionTestIn(Input):
    """The settings of an inbox about to be connected (as for `InboxCreate`)."""

    channel: InboxChannelName
    settings: Any = msgspec.field(default_factory=dict)  # a JSON object; see InboxCreate


class ConnectionCheckOut(Output):
    # "imap", "smtp", ...: the step, in the order they ran.
    step: str
    ok: bool
    # What the server said, or what was done; never a secret.
    detail: str


class ConnectionTestOut(Output):
    ok: bool
    checks: list[ConnectionCheckOut]
