from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from app.schemas import Output


class DeadLetterOut(Output):
    id: int
    uuid: UUID
    topic: str
    ticket_id: int | None
    seq: int | None
    payload: dict[str, Any]
    attempts: int
    # What went wrong the last time the relay tried.
    last_error: str | None
    created_at: datetime
    # When the relay gave up; null once an admin retried it.
    dead_at: datetime | None
