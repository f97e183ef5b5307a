from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec

from app.agents.schemas import AgentOut
from app.config import MAX_TOKEN_DAYS
from app.schemas import Input, Output

Scope = Literal["read", "write"]


Code = Annotated[str, msgspec.Meta(min_length=1, max_length=32)]


class LoginIn(Input):
    email: Annotated[str, msgspec.Meta(min_length=1, max_length=320)]
    password: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    # For an agent with two-factor sign-in: the authenticator's code or a recovery code.
    # Left out, such an agent is answered 401 `two_factor_required`.
    code: Code | None = None


class MeOut(AgentOut):
    two_factor_enabled: bool
    # The agent must enrol a second factor before anything else works (403
    # `two_factor_setup_required`).
    two_factor_setup_required: bool


class LoginOut(Output):
    token: str
    expires_at: datetime
    agent: AgentOut


class SessionOut(Output):
    csrf_token: str
    expires_at: datetime
    agent: MeOut


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


class TwoFactorStatus(Output):
    enabled: bool
    # Required for the agent's role by the workspace's security policy.
    required: bool
    recovery_codes_left: int


class EnrolmentOut(Output):
    """Scan `qr_code` (a data: URI of an SVG image) or type `secret` into the app, then
    confirm with its first code."""

    secret: str
    otpauth_uri: str
    qr_code: str


class CodeIn(Input):
    code: Code


class RecoveryCodesOut(Output):
    """Shown once: each signs in one time in place of an authenticator code."""

    recovery_codes: list[str]


class SecurityPolicyOut(Output):
    require_two_factor_for_staff: bool


class SecurityPolicyIn(Input):
    require_two_factor_for_staff: bool
