"""Schemathesis hooks (SCHEMATHESIS_HOOKS=tests.openapi.hooks) for tests/openapi: every
generated call is made as the admin the test created, and when a call revoked that token
(logout, revoking tokens) the next one signs in again, so the rest of the run is not 401s.
No generated call may act on that admin (deactivate, demote, change the password): the run
would be signed out for good."""

from __future__ import annotations

import os
from typing import Any

import requests
import schemathesis

URL = os.environ.get("RELAYDESK_SCHEMATHESIS_URL", "")
EMAIL = os.environ.get("RELAYDESK_SCHEMATHESIS_EMAIL", "")
PASSWORD = os.environ.get("RELAYDESK_SCHEMATHESIS_PASSWORD", "")
ADMIN_ID = int(os.environ.get("RELAYDESK_SCHEMATHESIS_ADMIN_ID", "0"))
_token: dict[str, str] = {}


@schemathesis.auth(refresh_interval=None)
class AdminToken:
    def get(self, case: Any, context: Any) -> str:
        if "value" not in _token:
            response = requests.post(
                f"{URL}/api/v1/auth/login", json={"email": EMAIL, "password": PASSWORD}, timeout=10
            )
            response.raise_for_status()
            _token["value"] = response.json()["token"]
        return _token["value"]

    def set(self, case: Any, data: str, context: Any) -> None:
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}


@schemathesis.hook
def after_call(context: Any, case: Any, response: Any) -> None:
    sent = (case.headers or {}).get("Authorization", "")
    if response.status_code == 401 and sent == f"Bearer {_token.get('value')}":
        _token.clear()


@schemathesis.hook
def map_path_parameters(context: Any, path_parameters: dict[str, Any] | None) -> Any:
    if path_parameters and path_parameters.get("agent_id") == ADMIN_ID:
        return {**path_parameters, "agent_id": ADMIN_ID + 1}
    return path_parameters
