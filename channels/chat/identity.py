"""Identity verification: a site's backend vouches for its signed-in user.

The site computes `hmac = hex(HMAC-SHA256(identity_secret, user_id))` on its server and
hands it to the widget with the user's id, email and name. A claim whose HMAC does not
match (or an inbox without an identity secret) is ignored: the visitor stays anonymous,
so a forged claim can never reach someone else's conversations or contact.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from app.chat.port import ChatSettings, VerifiedIdentity

MAX_USER_ID = 200
EMAIL_LIMIT = 320


def identity_hmac(secret: str, user_id: str) -> str:
    return hmac.new(secret.encode(), user_id.encode(), hashlib.sha256).hexdigest()


def verify_identity(settings: ChatSettings, claims: dict[str, Any]) -> VerifiedIdentity | None:
    secret = settings.identity_secret
    user_id, signature = claims.get("user_id"), claims.get("hmac")
    if not secret or not isinstance(user_id, str) or not isinstance(signature, str):
        return None
    if not user_id or len(user_id) > MAX_USER_ID:
        return None
    expected = identity_hmac(secret, user_id)
    if not hmac.compare_digest(expected.encode(), signature.strip().lower().encode("latin-1")):
        return None
    email = claims.get("email")
    name = claims.get("name")
    valid_email = isinstance(email, str) and "@" in email and len(email) <= EMAIL_LIMIT
    return VerifiedIdentity(
        user_id=user_id,
        email=email.strip().lower() if valid_email else None,  # type: ignore[union-attr]
        name=name.strip()[:200] if isinstance(name, str) and name.strip() else None,
    )
