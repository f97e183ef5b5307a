"""Contacts: the people who write in, their profile, and their addresses on each channel.

Every address is a `ContactIdentity` row, unique per (kind, value) across all contacts, so
an address belongs to one person. `Contact.email` and `Contact.phone` are the primary
addresses shown in lists; they are always also identities of the contact.
"""

from __future__ import annotations

import functools
import re
import zoneinfo
from collections.abc import Mapping, Sequence
from typing import Any

import msgspec
from sqlalchemy import select, tuple_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from app.accounts.service import check_account_exists, check_custom_fields, check_id, merge_patch
from app.audit.service import record, snapshot
from app.contacts.identities import EQUIVALENT_KINDS, Identity, account_for_email
from app.contacts.models import Contact, ContactIdentity
from app.contacts.schemas import ContactOut, IdentityIn, IdentityOut
from app.errors import Conflict, NotFound, ValidationFailed

PROFILE = ("name", "email", "phone", "locale", "time_zone", "account_id", "custom_fields")
PHONE_KINDS = ("phone", "whatsapp")
EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def with_identities() -> tuple[Any, ...]:
    return (selectinload(Contact.identities),)


def contact_out(contact: Contact) -> ContactOut:
    """Serialize a contact loaded with `with_identities()`."""
    emails = [i.value for i in contact.identities if i.kind == "email"]
    if contact.email in emails:
        emails.remove(contact.email)
        emails.insert(0, contact.email)
    return ContactOut(
        id=contact.id,
        name=contact.name,
        email=contact.email,
        emails=emails,
        phone=contact.phone,
        locale=contact.locale,
        time_zone=contact.time_zone,
        account_id=contact.account_id,
        custom_fields=dict(contact.custom_fields),
        identities=[
            IdentityOut(id=i.id, kind=i.kind, value=i.value, created_at=i.created_at)
            for i in contact.identities
        ],
        merged_into_id=contact.merged_into_id,
        created_at=contact.created_at,
        updated_at=contact.updated_at,
    )


def audit_snapshot(contact: Contact) -> dict[str, Any]:
    return {
        **snapshot(contact, PROFILE),
        "identities": sorted(f"{i.kind}:{i.value}" for i in contact.identities),
    }


async def get_contact(session: AsyncSession, contact_id: int) -> Contact:
    """Any contact, merged ones included (they answer with `merged_into_id` set)."""
    check_id("contact", contact_id)
    # populate_existing: after a flush or a bulk UPDATE the identity map may hold stale rows.
    contact = await session.scalar(
        select(Contact)
        .where(Contact.id == contact_id)
        .options(*with_identities())
        .execution_options(populate_existing=True)
    )
    if contact is None:
        raise NotFound(f"contact {contact_id} does not exist")
    return contact


def check_not_merged(contact: Contact) -> None:
    if contact.merged_into_id is not None:
        raise Conflict(
            f"contact {contact.id} was merged into contact {contact.merged_into_id}; "
            "change that one instead",
            code="contact_merged",
        )


async def access_live_contact(session: AsyncSession, contact_id: int) -> Contact:
    contact = await get_contact(session, contact_id)
    check_not_merged(contact)
    return contact


@functools.cache
def _time_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def check_time_zone(time_zone: str | None) -> str | None:
    if time_zone is not None and time_zone not in _time_zones():
        raise ValidationFailed.field("time_zone", "not an IANA time zone, e.g. Europe/Paris")
    return time_zone


def check_identity(kind: str, value: str, *, field: str) -> Identity:
    """The normalized address, or a validation error naming the request field."""
    if kind == "email" and not EMAIL_PATTERN.match(value.strip()):
        raise ValidationFailed.field(field, "not an email address")
    try:
        return Identity.of(kind, value)
    except ValidationFailed:
        raise ValidationFailed.field(field, f"not a valid {kind} address") from None


async def check_addresses_free(
    session: AsyncSession, wanted: Sequence[tuple[str, Identity]], *, contact_id: int | None
) -> None:
    """Each address must be unowned or already this contact's.

    A phone number and the WhatsApp id with the same digits are one person (see
    `identities.EQUIVALENT_KINDS`), so another contact holding the twin also conflicts.
    """
    pairs = {(i.kind, i.value) for _, i in wanted}
    pairs |= {(EQUIVALENT_KINDS[k], v) for k, v in pairs if k in EQUIVALENT_KINDS}
    if not pairs:
        return
    owners = {
        (kind, value): owner
        for kind, value, owner in (
            await session.execute(
                select(ContactIdentity.kind, ContactIdentity.value, ContactIdentity.contact_id)
                .where(tuple_(ContactIdentity.kind, ContactIdentity.value).in_(sorted(pairs)))
                .where(ContactIdentity.contact_id != (contact_id or 0))
            )
        ).all()
    }
    for field, identity in wanted:
        owner = owners.get((identity.kind, identity.value))
        if owner is None and identity.kind in EQUIVALENT_KINDS:
            owner = owners.get((EQUIVALENT_KINDS[identity.kind], identity.value))
        if owner is not None:
            raise Conflict(
                f"{field}: {identity.value} already belongs to contact {owner}",
                code="duplicate:uq_contact_identities_kind_value",
            )


async def _insert_identities(
    session: AsyncSession, contact_id: int, wanted: Sequence[tuple[str, Identity]]
) -> None:
    """Plain inserts, not ON CONFLICT: a request racing us for an address must end in a 409.

    Losing that race at the unique constraint means the winner has committed, so checking
    again now finds it and names the request field in the conflict.
    """
    if not wanted:
        return
    try:
        async with session.begin_nested():
            session.add_all(
                ContactIdentity(contact_id=contact_id, kind=i.kind, value=i.value)
                for _, i in wanted
            )
    except IntegrityError:
        await check_addresses_free(session, wanted, contact_id=contact_id)
        raise


def _requested_identities(
    *,
    email: str | None,
    phone: str | None,
    identities: Sequence[IdentityIn],
    identities_field: str,
) -> list[tuple[str, Identity]]:
    """(request field, identity) pairs, first mention of an address wins."""
    wanted: list[tuple[str, Identity]] = []
    if email is not None:
        wanted.append(("email", check_identity("email", email, field="email")))
    if phone is not None:
        wanted.append(("phone", check_identity("phone", phone, field="phone")))
    for n, item in enumerate(identities):
        field = f"{identities_field}[{n}].value"
        wanted.append((field, check_identity(item.kind, item.value, field=field)))
    seen: set[Identity] = set()
    unique = []
    for field, identity in wanted:
        if identity not in seen:
            seen.add(identity)
            unique.append((field, identity))
    return unique


async def do_create_contact(
    session: AsyncSession,
    *,
    actor_id: int | None,
    name: str | None = None,
    email: str | None = None,
    phone: str | None = None,
    locale: str | None = None,
    time_zone: str | None = None,
    account_id: int | msgspec.UnsetType | None = msgspec.UNSET,
    custom_fields: Mapping[str, Any] | None = None,
    identities: Sequence[IdentityIn] = (),
) -> Contact:
    """Left out, `account_id` comes from the email's domain; an explicit null means none."""
    wanted = _requested_identities(
        email=email, phone=phone, identities=identities, identities_field="identities"
    )
    if not wanted and not name:
        raise ValidationFailed.field("name", "a contact needs a name or at least one address")
    await check_addresses_free(session, wanted, contact_id=None)
    primary_email = next((i.value for _, i in wanted if i.kind == "email"), None)
    if account_id is msgspec.UNSET:
        account_id = await account_for_email(session, primary_email)
    elif account_id is not None:
        await check_account_exists(session, account_id, field="account_id")
    contact = Contact(
        name=name.strip() if name else None,
        email=primary_email,
        phone=next((i.value for _, i in wanted if i.kind in PHONE_KINDS), None),
        locale=locale,
        time_zone=check_time_zone(time_zone),
        account_id=account_id,
        custom_fields=check_custom_fields(custom_fields or {}),
    )
    session.add(contact)
    await session.flush()
    await _insert_identities(session, contact.id, wanted)
    contact = await get_contact(session, contact.id)
    record(
        session,
        actor_id=actor_id,
        action="contact.created",
        entity_type="contact",
        entity_id=contact.id,
        after=audit_snapshot(contact),
    )
    return contact


def _identities_to_remove(contact: Contact, identity_ids: Sequence[int]) -> list[ContactIdentity]:
    owned = {i.id: i for i in contact.identities}
    unknown = [str(i) for i in identity_ids if i not in owned]
    if unknown:
        raise ValidationFailed.field(
            "remove_identity_ids", f"not an identity of this contact: {', '.join(unknown)}"
        )
    return [owned[i] for i in dict.fromkeys(identity_ids)]


def _primary(current: str | None, kinds: tuple[str, ...], addresses: list[Identity]) -> str | None:
    """Keep the primary address if the contact still has it, else its oldest of these kinds."""
    values = [a.value for a in addresses if a.kind in kinds]
    if current in values:
        return current
    return values[0] if values else None


def _given(value: str | msgspec.UnsetType) -> str | None:
    return value if isinstance(value, str) else None


async def do_update_contact(
    session: AsyncSession,
    *,
    actor_id: int | None,
    contact_id: int,
    name: str | msgspec.UnsetType | None = msgspec.UNSET,
    email: str | msgspec.UnsetType = msgspec.UNSET,
    phone: str | msgspec.UnsetType = msgspec.UNSET,
    locale: str | msgspec.UnsetType | None = msgspec.UNSET,
    time_zone: str | msgspec.UnsetType | None = msgspec.UNSET,
    account_id: int | msgspec.UnsetType | None = msgspec.UNSET,
    custom_fields: Mapping[str, Any] | msgspec.UnsetType = msgspec.UNSET,
    add_identities: Sequence[IdentityIn] = (),
    remove_identity_ids: Sequence[int] = (),
) -> Contact:
    """Removals apply before additions. A new `email`/`phone` is added as an identity; a
    removed primary address falls back to the contact's oldest remaining one of that kind."""
    contact = await access_live_contact(session, contact_id)
    before = audit_snapshot(contact)

    removed = _identities_to_remove(contact, remove_identity_ids)
    wanted = _requested_identities(
        email=_given(email),
        phone=_given(phone),
        identities=add_identities,
        identities_field="add_identities",
    )
    await check_addresses_free(session, wanted, contact_id=contact.id)
    if account_id is not msgspec.UNSET and account_id is not None:
        await check_account_exists(session, account_id, field="account_id")
    if time_zone is not msgspec.UNSET:
        check_time_zone(time_zone)
    if custom_fields is not msgspec.UNSET:
        custom_fields = check_custom_fields(custom_fields)

    for identity in removed:
        await session.delete(identity)
    # Flush the deletes first: an address removed and re-added in one call is a new row.
    await session.flush()
    kept = [Identity(i.kind, i.value) for i in contact.identities if i not in removed]
    added = [(f, i) for f, i in wanted if i not in kept]
    await _insert_identities(session, contact.id, added)

    if name is not msgspec.UNSET:
        contact.name = name.strip() if name else None
    contact.email = next((i.value for f, i in wanted if f == "email"), contact.email)
    contact.phone = next((i.value for f, i in wanted if f == "phone"), contact.phone)
    addresses = kept + [i for _, i in added]
    contact.email = _primary(contact.email, ("email",), addresses)
    contact.phone = _primary(contact.phone, PHONE_KINDS, addresses)
    if locale is not msgspec.UNSET:
        contact.locale = locale
    if time_zone is not msgspec.UNSET:
        contact.time_zone = time_zone
    if account_id is not msgspec.UNSET:
        contact.account_id = account_id
    if custom_fields is not msgspec.UNSET:
        # A new dict: JSONB columns do not track in-place mutation.
        contact.custom_fields = merge_patch(contact.custom_fields, custom_fields)
    await session.flush()

    contact = await get_contact(session, contact.id)
    record(
        session,
        actor_id=actor_id,
        action="contact.updated",
        entity_type="contact",
        entity_id=contact.id,
        before=before,
        after=audit_snapshot(contact),
    )
    return contact
