from __future__ import annotations

import pytest

from app.inboxes.service import SettingsValidator


@pytest.fixture
def settings_validators() -> dict[str, SettingsValidator]:
    """No channel checks: these tests are about what every inbox shares. A test may add one
    to this per-test dict (the email channel's own checks are tested in tests/channels)."""
    validators: dict[str, SettingsValidator] = {}
    return validators
