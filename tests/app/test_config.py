"""Settings read from the environment: the security ones this file covers name the variable
when they are wrong."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.config import Settings, SettingsError

SECRET = "k" * 40


def settings_of(tmp_path: Path, **env: str) -> Settings:
    return Settings.from_env(
        {"RELAYDESK_SECRET_KEY": SECRET, "RELAYDESK_DATA_DIR": str(tmp_path), **env}
    )


def test_trusted_proxies_are_empty_unless_listed(tmp_path: Path) -> None:
    assert settings_of(tmp_path).security.trusted_proxies == ()
    listed = settings_of(tmp_path, RELAYDESK_TRUSTED_PROXIES=" 10.0.0.0/8, 192.0.2.7,2001:db8::/32")
    assert listed.security.trusted_proxies == ("10.0.0.0/8", "192.0.2.7/32", "2001:db8::/32")


@pytest.mark.parametrize("value", ["10.0.0.0/33", "proxy.internal", "10.0.0.1 10.0.0.2"])
def test_a_malformed_trusted_proxy_names_the_variable(tmp_path: Path, value: str) -> None:
    with pytest.raises(SettingsError, match=r"^RELAYDESK_TRUSTED_PROXIES must list"):
        settings_of(tmp_path, RELAYDESK_TRUSTED_PROXIES=value)


def test_token_max_days(tmp_path: Path) -> None:
    assert settings_of(tmp_path).security.token_max_days == 365
    assert settings_of(tmp_path, RELAYDESK_TOKEN_MAX_DAYS="30").security.token_max_days == 30
    for value in ("0", "a year", "100000"):
        with pytest.raises(SettingsError, match=r"^RELAYDESK_TOKEN_MAX_DAYS must be"):
            settings_of(tmp_path, RELAYDESK_TOKEN_MAX_DAYS=value)


def test_http_limits(tmp_path: Path) -> None:
    http = settings_of(tmp_path).http
    assert (http.max_request_body_bytes, http.header_timeout_seconds, http.max_connections) == (
        1024 * 1024,
        10,
        1000,
    )
    changed = settings_of(
        tmp_path,
        RELAYDESK_MAX_REQUEST_BODY_BYTES="65536",
        RELAYDESK_HEADER_TIMEOUT_SECONDS="5",
        RELAYDESK_MAX_CONNECTIONS="200",
    ).http
    assert (changed.max_request_body_bytes, changed.header_timeout_seconds) == (65536, 5)
    assert changed.max_connections == 200
    with pytest.raises(SettingsError, match=r"^RELAYDESK_MAX_CONNECTIONS must be"):
        settings_of(tmp_path, RELAYDESK_MAX_CONNECTIONS="0")
