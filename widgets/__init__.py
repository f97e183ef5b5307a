"""The embeddable chat widget: static assets, loader and configuration endpoint.

The TypeScript sources are in src/ and build into dist/ (widgets/vite.config.ts); the
app serves the bundle at /widget.js (app/assets.py).
"""

from __future__ import annotations

from pathlib import Path

# Vite's outDir; shipped as package data, never committed.
DIST = Path(__file__).resolve().parent / "dist"
