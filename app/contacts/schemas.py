from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import msgspec

from app.accounts.schemas import NO_NUL, CustomFields, Name
from app.inboxes.channels import IdentityKindName
from app.schemas import Id, Input, Output

IdentityKind = IdentityKindName
Email = Annotated[
    str,
    msgspec.Meta(min_length=3, max_length=320, pattern=r"^[^@\s\x00]+@[^@\s\x00]+\.[^@\s\x00]+$"),
]
Phone = Annotated[str, msgspec.Meta(min_length=1, max_length=40, pattern=NO_NUL)]
Locale = Annotated[
    str, msgspec.Meta(max_length=20, pattern=r"^[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})*$")
]
TimeZone = Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=NO_NUL)]
IdentityValue = Annotated[str, msgspec.Meta(min_length=1, max_length=320, pattern=NO_NUL)]


class IdentityIn(Input):
    kind: IdentityKind
    value: IdentityValue


class IdentityOut(Output):
    id: int
    kind: str
    value: str
    created_at: datetime


class ContactOut(Output):
    id: int
    name: str | None
    email: str | None
    # Every email address of the contact, the primary one first.
    emails: list[str]
    phone: str | None
    locale: str | None
    time_zone: str | None
    account_id: int | None
    custom_fields: dict[str, Any]
    identities: list[IdentityOut]
    # Set when this contact was merged into another one; it then owns nothing.
    merged_into_id: int | None
    created_at: datetime
    updated_at: datetime


class ContactCreate(Input):
    """`account_id` left out links the account owning the email's domain; null means none."""

    name: Name | None = None
    email: Email | None = None
    phone: Phone | None = None
    locale: Locale | None = None
    time_zone: TimeZone | None = None
    account_id: Id | msgspec.UnsetType | None = msgspec.UNSET
    custom_fields: CustomFields = {}
    identities: Annotated[list[IdentityIn], msgspec.Meta(max_length=50)] = []


class ContactUpdate(Input):
    """`email`/`phone` become the primary address and are added as identities if new; to
    drop an address, remove its identity (the primary then falls back to another one).

    `custom_fields` is a JSON merge patch: listed keys are set, a null value removes one.
    """

    name: Name | msgspec.UnsetType | None = msgspec.UNSET
    email: Email | msgspec.UnsetType = msgspec.UNSET
    phone: Phone | msgspec.UnsetType = msgspec.UNSET
    locale: Locale | msgspec.UnsetType | None = msgspec.UNSET
    time_zone: TimeZone | msgspec.UnsetType | None = msgspec.UNSET
    account_id: Id | msgspec.UnsetType | None = msgspec.UNSET
    custom_fields: CustomFields | msgspec.UnsetType = msgspec.UNSET
    add_identities: Annotated[list[IdentityIn], msgspec.Meta(max_length=50)] = []
    remove_identity_ids: Annotated[list[Id], msgspec.Meta(max_length=50)] = []


class ContactMerge(Input):
    into_id: Id
