"""The agent console: a Vue single-page app (sources in src/, built by Vite into dist/)
and the handlers that serve it (controller.py)."""

from __future__ import annotations

from pathlib import Path

# Vite's outDir (app/console/vite.config.ts); shipped as package data, never committed.
DIST = Path(__file__).resolve().parent / "dist"
