from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, UniqueConstraint, func, text
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base, IdMixin


def new_visitor_key() -> str:
    return secrets.token_urlsafe(18)


class ChatVisitor(IdMixin, Base):
    """Someone using an inbox's widget. Anonymous until the site vouches for them
    (identity verification); their contact is made with their first message, so page
    views that never chat leave no contact behind."""

    __tablename__ = "chat_visitors"
    # One visitor per signed-in user of a site, whichever device they come from.
    __table_args__ = (UniqueConstraint("inbox_id", "user_id"),)

    inbox_id: Mapped[int] = mapped_column(ForeignKey("inboxes.id", ondelete="CASCADE"))
    # Random and public: the visitor token names it, and it is the contact's `widget`
    # identity.
    key: Mapped[str] = mapped_column(String(40), unique=True, default=new_visitor_key)
    user_id: Mapped[str | None] = mapped_column(String(200))  # verified by HMAC only
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"), index=True)
    name: Mapped[str | None] = mapped_column(String(200))
    # Verified when `user_id` is; otherwise what the visitor typed (pre-chat form), which
    # never joins them to that address's contact.
    email: Mapped[str | None] = mapped_column(String(320))
    pre_chat: Mapped[dict[str, Any]] = mapped_column(default=dict, server_default="{}")
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    last_seen_at: Mapped[datetime] = mapped_column(server_default=func.now())
    is_blocked: Mapped[bool] = mapped_column(default=False, server_default=text("false"))


class ChatUpload(IdMixin, Base):
    """A file a visitor uploaded for their next message, kept by content hash until the
    message that carries it is stored (the message's attachment is made then)."""

    __tablename__ = "chat_uploads"

    visitor_id: Mapped[int] = mapped_column(
        ForeignKey("chat_visitors.id", ondelete="CASCADE"), index=True
    )
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(255))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    used_at: Mapped[datetime | None]
