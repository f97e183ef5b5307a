"""Visitor tokens: `v1.<visitor key>.<MAC>`, signed with RELAYDESK_SECRET_KEY.

The browser keeps the token, so a reload continues the conversation; the MAC means no one
can make a token for another visitor's key. Changing the secret key ends every visitor's
session (they start afresh; their tickets stay).
"""

from __future__ import annotations

import hmac

from app.security.crypto import sign

PREFIX = "v1"
PURPOSE = "visitor-token"
MAX_TOKEN_LENGTH = 200


def visitor_token(secret_key: str, visitor_key: str) -> str:
    return f"{PREFIX}.{visitor_key}.{sign(secret_key, visitor_key, purpose=PURPOSE)}"


def visitor_key_of(secret_key: str, token: str) -> str | None:
    """The visitor key the token was signed for, or None for anything else."""
    if not isinstance(token, str) or len(token) > MAX_TOKEN_LENGTH:
        return None
    prefix, _, rest = token.partition(".")
    key, _, mac = rest.rpartition(".")
    if prefix != PREFIX or not key or not mac:
        return None
    expected = sign(secret_key, key, purpose=PURPOSE)
    if not hmac.compare_digest(expected.encode(), mac.encode("utf-8", "replace")):
        return None
    return key
