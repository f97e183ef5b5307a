from __future__ import annotations

from tests.app.agents.conftest import statements

__all__ = ["statements"]
