from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, func
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base

CONNECTION_STATUSES = ("online", "away", "offline")


class AgentConnection(Base):
    """One live agent socket on one app node. An agent's presence (agents.presence) is
    derived from these rows: online if any socket says online, away if all say away,
    offline without one. Each node refreshes `last_heartbeat_at` of its sockets; rows of a
    node that died stop being refreshed and are swept, so its agents go offline."""

    __tablename__ = "agent_connections"
    __table_args__ = (CheckConstraint(f"status IN {CONNECTION_STATUSES}", name="status"),)

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"), index=True)
    node: Mapped[str] = mapped_column(String(100), index=True)
    status: Mapped[str] = mapped_column(String(10), default="online")
    connected_at: Mapped[datetime] = mapped_column(server_default=func.now())
    last_heartbeat_at: Mapped[datetime] = mapped_column(server_default=func.now(), index=True)


class AgentClientMessage(Base):
    """An agent's socket `client_id` and the message it stored: sending it again answers
    the same ack and stores nothing (visitors' client ids are the message's external id)."""

    __tablename__ = "agent_client_messages"

    agent_id: Mapped[int] = mapped_column(
        ForeignKey("agents.id", ondelete="CASCADE"), primary_key=True
    )
    client_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    message_id: Mapped[int] = mapped_column(
        ForeignKey("messages.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
