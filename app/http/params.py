"""Query parameters every list endpoint shares, with their constraints in the OpenAPI
document, so a client sees the rules and a malformed value is a 400 naming it."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from litestar.params import Parameter

from app.errors import InvalidParameter
from app.pagination import MAX_LIMIT

PageSize = Annotated[int, Parameter(ge=1, le=MAX_LIMIT, description="Page size")]
# What `encode_cursor` makes: unpadded URL-safe base64 of a short text.
Cursor = Annotated[
    str | None,
    Parameter(
        pattern=r"^[A-Za-z0-9_-]{1,64}$",
        description="The `next_cursor` of the previous page; absent for the first page",
    ),
]
# RFC 3339 with an offset. As a datetime, msgspec's lenient query parsing would also take
# a bare number ("0.5") as a Unix timestamp; as text with this pattern it takes neither
# that nor a time without a zone.
Instant = Annotated[
    str | None,
    Parameter(
        pattern=(
            r"^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d:[0-5]\d"
            r"(\.\d{1,6})?(Z|[+-]([01]\d|2[0-3]):[0-5]\d)$"
        ),
        description="An RFC 3339 date-time with its offset, e.g. 2026-12-02T10:00:00Z",
    ),
]


def instant(field: str, value: str | None) -> datetime | None:
    """The datetime of an `Instant` parameter; a date the calendar lacks (02-30) is a 400."""
    if value is None:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise InvalidParameter.field(field, "not a date-time that exists") from None
