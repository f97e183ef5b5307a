"""Shared schema pieces: the strict base struct, constrained strings and the list page."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Generic, TypeVar

import msgspec

T = TypeVar("T")

Email = Annotated[
    str, msgspec.Meta(min_length=3, max_length=320, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Tag = Annotated[str, msgspec.Meta(min_length=1, max_length=100, pattern=r"^[^\s,]+$")]
Id = Annotated[int, msgspec.Meta(ge=1, le=2**63 - 1)]


class Input(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Base of every request body: unknown fields are an error, not silently ignored."""


class Output(msgspec.Struct, kw_only=True):
    """Base of every response body."""


class Page(Output, Generic[T]):
    items: list[T]
    next_cursor: str | None


class Timestamps(Output):
    created_at: datetime
    updated_at: datetime
