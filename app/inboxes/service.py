"""Inboxes: configured channel endpoints.

An inbox's settings are split in two: plain settings (a JSON object anyone on staff may
read) and secret settings (passwords, tokens, API keys), which are kept only in
`secrets_encrypted`, sealed with the `SecretBox` derived from RELAYDESK_SECRET_KEY. Responses
and audit rows name the secret keys that are set, never their values; channel workers read
them with `inbox_secrets()`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from typing import Any, Protocol

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.agents.service import check_id, check_teams
from app.audit.service import record, snapshot
from app.errors import FieldError, NotFound, ValidationFailed
from app.inboxes.channels import INBOX_CHANNELS
from app.inboxes.models import Inbox
from app.inboxes.schemas import InboxOut, InboxUpdate
from app.pagination import page_of, paginate
from app.security.crypto import SecretBox

SettingsValidator = Callable[[dict[str, Any]], None]
# Per-channel checks of an inbox's settings, e.g. the email channel requires its IMAP and
# SMTP fields. The domain never imports a channel, so the composition root passes them in
# (`create_app(settings_validators=...)`). A validator gets the plain and the secret settings
# merged in one dict and raises `ValidationFailed` naming the field as `settings.<key>`.
# A validator with a `structured_keys` attribute lets those keys hold lists and objects
# (the chat inbox's allowed origins and pre-chat fields); every other value stays flat. One
# with a `check_references` coroutine checks that the rows its settings name exist.
SettingsValidators = Mapping[str, SettingsValidator]


class ConnectionCheck(Protocol):
    @property
    def step(self) -> str: ...
    @property
    def ok(self) -> bool: ...
    @property
    def detail(self) -> str: ...


# Per-channel connection tests (the email channel signs in to IMAP and SMTP), passed in by
# the composition root like the validators: settings in, one check per step out.
ConnectionTests = Mapping[str, Callable[[dict[str, Any]], Awaitable[Sequence[ConnectionCheck]]]]

MAX_SETTINGS = 64
MAX_KEY_LENGTH = 100
MAX_VALUE_LENGTH = 10_000
KEY_PATTERN = re.compile(r"[A-Za-z0-9_.-]+")
SECRET_SUFFIXES = ("_password", "_token", "_secret", "_api_key")
# Bare "password", "token" and "api_key" are secrets too: storing one in plain text would be
# a worse mistake than hiding a value that was harmless.
SECRET_NAMES = frozenset({"secret", "app_secret", "access_token", "password", "token", "api_key"})
AUDITED = ("name", "channel", "settings", "team_id", "is_active")


def is_secret_key(key: str) -> bool:
    key = key.lower()
    return key in SECRET_NAMES or key.endswith(SECRET_SUFFIXES)


def check_channel(channel: str) -> str:
    if channel not in INBOX_CHANNELS:
        raise ValidationFailed.field("channel", f"must be one of {', '.join(INBOX_CHANNELS)}")
    return channel


def structured_keys(validators: SettingsValidators, channel: str) -> frozenset[str]:
    return frozenset(getattr(validators.get(channel), "structured_keys", ()))


def check_settings(
    settings: Any, *, field: str = "settings", structured: Collection[str] = ()
) -> dict[str, Any]:
    """The shape every channel shares: a flat object of at most `MAX_SETTINGS` keys whose
    values are strings, numbers, booleans or null (lists and objects only at the channel's
    `structured` keys, at most `MAX_VALUE_LENGTH` characters of JSON)."""
    if not isinstance(settings, dict):
        raise ValidationFailed.field(field, "must be an object")
    if len(settings) > MAX_SETTINGS:
        raise ValidationFailed.field(field, f"must have at most {MAX_SETTINGS} keys")
    errors = []
    for key, value in settings.items():
        if len(key) > MAX_KEY_LENGTH or not KEY_PATTERN.fullmatch(key):
            errors.append(
                FieldError(
                    field,
                    f"key {key[:MAX_KEY_LENGTH]!r} must be 1-{MAX_KEY_LENGTH} letters, digits, "
                    "'_', '.' or '-'",
                )
            )
        elif key in structured and isinstance(value, list | dict):
            encoded = json.dumps(value)
            if len(encoded) > MAX_VALUE_LENGTH:
                errors.append(
                    FieldError(f"{field}.{key}", f"must be at most {MAX_VALUE_LENGTH} characters")
                )
            elif "\\u0000" in encoded:
                errors.append(FieldError(f"{field}.{key}", "must not contain NUL characters"))
        elif value is not None and not isinstance(value, str | int | float | bool):
            errors.append(FieldError(f"{field}.{key}", "must be a string, number, boolean or null"))
        elif isinstance(value, str) and len(value) > MAX_VALUE_LENGTH:
            errors.append(
                FieldError(f"{field}.{key}", f"must be at most {MAX_VALUE_LENGTH} characters")
            )
        elif isinstance(value, str) and "\x00" in value:
            # PostgreSQL's JSONB cannot store NUL; secrets are refused alike for one rule.
            errors.append(FieldError(f"{field}.{key}", "must not contain NUL characters"))
    if errors:
        raise ValidationFailed(*errors)
    return settings


def _run_channel_validator(
    validators: SettingsValidators, channel: str, plain: dict[str, Any], secrets: dict[str, Any]
) -> None:
    if len(plain) + len(secrets) > MAX_SETTINGS:
        raise ValidationFailed.field("settings", f"must have at most {MAX_SETTINGS} keys")
    validator = validators.get(channel)
    if validator is not None:
        validator({**plain, **secrets})


def _merge(current: Mapping[str, Any], patch: Mapping[str, Any]) -> dict[str, Any]:
    """RFC 7396 at the top level: a listed key is replaced, a null value removes it."""
    merged = dict(current)
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged


def _split(settings: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    plain = {k: v for k, v in settings.items() if not is_secret_key(k)}
    secrets = {k: v for k, v in settings.items() if is_secret_key(k)}
    return plain, secrets


def _seal(box: SecretBox, secrets: dict[str, Any]) -> bytes | None:
    return box.seal(secrets) if secrets else None


def inbox_secrets(inbox: Inbox, box: SecretBox) -> dict[str, Any]:
    """The decrypted secret settings, for the channel workers. Raises `ValueError` when they
    cannot be decrypted (RELAYDESK_SECRET_KEY changed)."""
    if inbox.secrets_encrypted is None:
        return {}
    return box.open(inbox.secrets_encrypted)


def _readable_secrets(inbox: Inbox, box: SecretBox) -> dict[str, Any] | None:
    try:
        return inbox_secrets(inbox, box)
    except ValueError:
        return None


def inbox_out(inbox: Inbox, box: SecretBox) -> InboxOut:
    secrets = _readable_secrets(inbox, box)
    return InboxOut(
        id=inbox.id,
        name=inbox.name,
        channel=inbox.channel,
        settings=dict(inbox.settings),
        secret_keys=sorted(secrets or {}),
        secrets_readable=secrets is not None,
        team_id=inbox.team_id,
        is_active=inbox.is_active,
        public_key=inbox.public_key,
        created_at=inbox.created_at,
        updated_at=inbox.updated_at,
    )


async def get_inbox(session: AsyncSession, inbox_id: int) -> Inbox:
    inbox = await session.get(Inbox, check_id("inbox", inbox_id))
    if inbox is None:
        raise NotFound(f"inbox {inbox_id} does not exist")
    return inbox


async def list_inboxes(
    session: AsyncSession,
    *,
    channel: str | None = None,
    is_active: bool | None = None,
    limit: int,
    cursor: str | None,
) -> tuple[list[Inbox], str | None]:
    stmt = select(Inbox)
    if channel is not None:
        stmt = stmt.where(Inbox.channel == check_channel(channel))
    if is_active is not None:
        stmt = stmt.where(Inbox.is_active.is_(is_active))
    rows = (await session.scalars(paginate(stmt, Inbox.id, limit=limit, cursor=cursor))).all()
    return page_of(rows, limit=limit)


async def _check_references(
    session: AsyncSession, validators: SettingsValidators, channel: str, plain: dict[str, Any]
) -> None:
    """Settings that name other rows (a chat inbox's calendar): a validator with a
    `check_references(session, settings)` coroutine checks that they exist."""
    check = getattr(validators.get(channel), "check_references", None)
    if check is not None:
        await check(session, plain)


async def do_create_inbox(
    session: AsyncSession,
    box: SecretBox,
    *,
    validators: SettingsValidators,
    actor_id: int | None,
    name: str,
    channel: str,
    settings: Any,
    team_id: int | None = None,
    is_active: bool = True,
) -> Inbox:
    check_channel(channel)
    settings = check_settings(settings, structured=structured_keys(validators, channel))
    plain, secrets = _split({k: v for k, v in settings.items() if v is not None})
    _run_channel_validator(validators, channel, plain, secrets)
    await _check_references(session, validators, channel, plain)
    if team_id is not None:
        await check_teams(session, [team_id], field="team_id")
    inbox = Inbox(
        name=name,
        channel=channel,
        settings=plain,
        secrets_encrypted=_seal(box, secrets),
        team_id=team_id,
        is_active=is_active,
    )
    session.add(inbox)
    await session.flush()
    after = snapshot(inbox, AUDITED) | {"secret_keys": sorted(secrets)}
    record(
        session,
        actor_id=actor_id,
        action="inbox.create",
        entity_type="inbox",
        entity_id=inbox.id,
        after=after,
    )
    return inbox


async def do_update_inbox(
    session: AsyncSession,
    box: SecretBox,
    *,
    validators: SettingsValidators,
    actor_id: int | None,
    inbox_id: int,
    changes: InboxUpdate,
) -> Inbox:
    inbox = await get_inbox(session, inbox_id)
    before = snapshot(inbox, AUDITED)
    if changes.name is not msgspec.UNSET:
        inbox.name = changes.name
    if changes.team_id is not msgspec.UNSET:
        if changes.team_id is not None:
            await check_teams(session, [changes.team_id], field="team_id")
        inbox.team_id = changes.team_id
    if changes.is_active is not msgspec.UNSET:
        inbox.is_active = changes.is_active
    audit_secrets: dict[str, Any] = {}
    if changes.settings is not msgspec.UNSET:
        structured = structured_keys(validators, inbox.channel)
        plain_patch, secret_patch = _split(check_settings(changes.settings, structured=structured))
        stored = _readable_secrets(inbox, box)
        if stored is None:
            # Undecryptable secrets are useless anyway; the admin is sending them again.
            audit_secrets["secrets_reset"] = True
        old_secrets = stored or {}
        plain = _merge(inbox.settings, plain_patch)
        secrets = _merge(old_secrets, secret_patch)
        _run_channel_validator(validators, inbox.channel, plain, secrets)
        await _check_references(session, validators, inbox.channel, plain)
        changed = sorted(k for k in secret_patch if old_secrets.get(k) != secrets.get(k))
        if changed:
            audit_secrets["secrets_changed"] = changed
        inbox.settings = plain
        inbox.secrets_encrypted = _seal(box, secrets)
    await session.flush()
    after = snapshot(inbox, AUDITED) | audit_secrets
    record(
        session,
        actor_id=actor_id,
        action="inbox.update",
        entity_type="inbox",
        entity_id=inbox.id,
        before=before,
        after=after,
    )
    return inbox


async def do_delete_inbox(session: AsyncSession, *, actor_id: int | None, inbox_id: int) -> None:
    """Tickets and messages of the inbox stay, with no inbox. To stop an inbox but keep its
    configuration, set `is_active` to false instead."""
    inbox = await get_inbox(session, inbox_id)
    before = snapshot(inbox, AUDITED)
    await session.delete(inbox)
    await session.flush()
    record(
        session,
        actor_id=actor_id,
        action="inbox.delete",
        entity_type="inbox",
        entity_id=inbox_id,
        before=before,
    )


async def test_connection(
    tests: ConnectionTests,
    validators: SettingsValidators,
    *,
    channel: str,
    settings: Any,
) -> list[ConnectionCheck]:
    """Try the settings against the servers they name; a channel without a test (chat,
    webhooks) is a 422, settings of the wrong shape too, naming the field."""
    check_channel(channel)
    run = tests.get(channel)
    if run is None:
        raise ValidationFailed.field("channel", "has no connection test: nothing to connect to")
    values = check_settings(settings, structured=structured_keys(validators, channel))
    _run_channel_validator(validators, channel, values, {})
    return list(await run(values))
