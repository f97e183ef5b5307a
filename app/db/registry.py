"""Imports every models module so `Base.metadata` is complete (Alembic, tests)."""

from app.accounts import models as accounts
from app.agents import models as agents
from app.audit import models as audit
from app.auth import models as auth
from app.chat import models as chat
from app.contacts import models as contacts
from app.db.base import Base
from app.inbound import models as inbound
from app.inboxes import models as inboxes
from app.mail import models as mail
from app.messages import models as messages
from app.outbox import models as outbox
from app.realtime import models as realtime
from app.replies import models as replies
from app.routing import models as routing
from app.tickets import events as ticket_events
from app.tickets import models as tickets
from app.tickets import participants
from app.views import models as views

metadata = Base.metadata

__all__ = [
    "accounts",
    "agents",
    "audit",
    "auth",
    "chat",
    "contacts",
    "inbound",
    "inboxes",
    "mail",
    "messages",
    "metadata",
    "outbox",
    "participants",
    "realtime",
    "replies",
    "routing",
    "ticket_events",
    "tickets",
    "views",
]
