from __future__ import annotations

import pytest

from app.config import Settings
from app.security.crypto import SecretBox


@pytest.fixture
def box(settings: Settings) -> SecretBox:
    return SecretBox(settings.security.secret_key)
