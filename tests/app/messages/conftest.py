from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.db.engine import SessionMaker
from app.security.crypto import SecretBox
from tests.app.messages.sending import Sending
from tests.conftest import FrozenClock


@pytest.fixture
def box(settings: Settings) -> SecretBox:
    return SecretBox(settings.security.secret_key)


@pytest.fixture
def sending(
    db_session: AsyncSession,
    sessionmaker: SessionMaker,
    settings: Settings,
    box: SecretBox,
    clock: FrozenClock,
) -> Sending:
    return Sending(db_session, sessionmaker, settings, box, clock)
