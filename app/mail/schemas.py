from __future__ import annotations

from datetime import datetime

from app.schemas import Output


class InboundEmailOut(Output):
    id: int
    inbox_id: int
    uid: int
    uidvalidity: int
    message_id_header: str | None
    size: int
    status: str
    error: str | None
    attempts: int
    message_id: int | None
    received_at: datetime
    processed_at: datetime | None
    raw_url: str
