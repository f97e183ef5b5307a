"""Demo data for `relaydesk seed-demo`; see `app.seed.demo`."""

from __future__ import annotations

from app.seed.content import DEMO_ADMIN_EMAIL, DEMO_PASSWORD
from app.seed.demo import DemoDataPresent, seed_demo

__all__ = ["DEMO_ADMIN_EMAIL", "DEMO_PASSWORD", "DemoDataPresent", "seed_demo"]
