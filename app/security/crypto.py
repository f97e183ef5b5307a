"""Encryption of secrets at rest, with a key derived from RELAYDESK_SECRET_KEY."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


class SecretBox:
    """Fernet (AES-128-CBC + HMAC-SHA256) over JSON; one derived key per purpose."""

    def __init__(self, secret_key: str, *, purpose: str = "inbox-secrets") -> None:
        derived = HKDF(
            algorithm=hashes.SHA256(), length=32, salt=None, info=f"relaydesk:{purpose}".encode()
        ).derive(secret_key.encode())
        self._fernet = Fernet(base64.urlsafe_b64encode(derived))

    def seal(self, data: dict[str, Any]) -> bytes:
        return self._fernet.encrypt(json.dumps(data, separators=(",", ":")).encode())

    def open(self, token: bytes) -> dict[str, Any]:
        try:
            value: dict[str, Any] = json.loads(self._fernet.decrypt(token))
        except InvalidToken:
            raise ValueError(
                "secret cannot be decrypted: was RELAYDESK_SECRET_KEY changed?"
            ) from None
        return value


def sign(secret_key: str, value: str, *, purpose: str) -> str:
    """A keyed MAC of `value`, e.g. the CSRF token bound to a session cookie."""
    key = hashlib.sha256(f"relaydesk:{purpose}:{secret_key}".encode()).digest()
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()
