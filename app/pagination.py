"""Keyset (cursor) pagination over `id DESC`: stable under inserts and index-backed."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from typing import Any, TypeVar

from sqlalchemy import Select

from app.errors import InvalidParameter

MAX_LIMIT = 200
DEFAULT_LIMIT = 50
T = TypeVar("T")


def encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(f"id:{last_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        prefix, value = raw.split(":", 1)
        last_id = int(value)
        if prefix != "id" or not 0 < last_id < 2**63:
            raise ValueError(raw)
        return last_id
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise InvalidParameter.field("cursor", "not a cursor this API returned") from None


def check_limit(limit: int) -> int:
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidParameter.field("limit", f"must be between 1 and {MAX_LIMIT}")
    return limit


def paginate(stmt: Select[Any], id_column: Any, *, limit: int, cursor: str | None) -> Select[Any]:
    """Newest first; fetch one extra row to know whether another page exists."""
    if cursor:
        stmt = stmt.where(id_column < decode_cursor(cursor))
    return stmt.order_by(id_column.desc()).limit(check_limit(limit) + 1)


def page_of(rows: Sequence[T], *, limit: int, id_of: Any = None) -> tuple[list[T], str | None]:
    items = list(rows[:limit])
    if len(rows) <= limit or not items:
        return items, None
    last = items[-1]
    return items, encode_cursor(id_of(last) if id_of else last.id)  # type: ignore[attr-defined]
