from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import msgspec

from app.schemas import Input, Output

# PostgreSQL text cannot hold NUL: refuse it here rather than fail at the database.
NO_NUL = r"^[^\x00]*$"
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200, pattern=NO_NUL)]

Domain = Annotated[
    str,
    msgspec.Meta(
        min_length=3,
        max_length=253,
        pattern=r"^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+"
        r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$",
    ),
]
Domains = Annotated[list[Domain], msgspec.Meta(max_length=50)]
Tier = Annotated[str, msgspec.Meta(min_length=1, max_length=50, pattern=NO_NUL)]
# Free-form attributes set by integrations; keys are bounded so a typo cannot grow a row forever.
CustomFields = Annotated[
    dict[Annotated[str, msgspec.Meta(min_length=1, max_length=100, pattern=NO_NUL)], Any],
    msgspec.Meta(max_length=100),
]


class AccountOut(Output):
    id: int
    name: str
    domains: list[str]
    tier: str | None
    custom_fields: dict[str, Any]
    created_at: datetime
    updated_at: datetime


class AccountCreate(Input):
    name: Name
    domains: Domains = []
    tier: Tier | None = None
    custom_fields: CustomFields = {}


class AccountUpdate(Input):
    """`custom_fields` is a JSON merge patch: listed keys are set, a null value removes one."""

    name: Name | msgspec.UnsetType = msgspec.UNSET
    domains: Domains | msgspec.UnsetType = msgspec.UNSET
    tier: Tier | msgspec.UnsetType | None = msgspec.UNSET
    custom_fields: CustomFields | msgspec.UnsetType = msgspec.UNSET
