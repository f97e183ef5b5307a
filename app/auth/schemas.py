from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec

from app.agents.schemas import AgentOut
from app.config import MAX_TOKEN_DAYS
from app.schemas import Input, Output

Scope = Literal["read", "write"]


class LoginIn(Input):
    email: Annotated[str, msgspec.Meta(min_length=1, max_length=320)]
    password: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


class LoginOut(Output):
    token: str
    expires_at: datetime
    agent: AgentOut


class SessionOut(Output):
    csrf_token: str
    expires_at: datetime
    agent: AgentOut


class TokenCreate(Input):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    scopes: Annotated[list[Scope], msgspec.Meta(min_length=1)] = msgspec.field(
        default_factory=lambda: ["read", "write"]
    )
    # Default 365 days; the most is RELAYDESK_TOKEN_MAX_DAYS (a larger value is a 422).
    expires_in_days: Annotated[int, msgspec.Meta(ge=1, le=MAX_TOKEN_DAYS)] | None = None


class TokenOut(Output):
    id: int
    kind: str  # "personal", or a sign-in: "login" (bearer) or "cookie" (console session)
    name: str | None
    scopes: list[str]
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime


class TokenCreated(TokenOut):
    token: str  # shown once
