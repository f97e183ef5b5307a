"""A stand-in for the front ends' builds, so API tests need no `npm run build`.

The browser tests (tests/browser/) use the real build.
"""

from __future__ import annotations

import json
from pathlib import Path

from app.assets import BuiltAssets

CONSOLE_SCRIPT = "index-Ab12_cD3.js"
WIDGET_BUNDLE = "widget-Zy98_xW7.js"
SHELL = (
    '<!doctype html><html lang="en"><head><title>Relaydesk</title>'
    f'<script type="module" src="/console/assets/{CONSOLE_SCRIPT}"></script></head>'
    '<body><div id="app"></div></body></html>'
)


def fake_build(root: Path) -> BuiltAssets:
    console, widget = root / "console", root / "widget"
    (console / "assets").mkdir(parents=True)
    (console / "index.html").write_text(SHELL)
    (console / "assets" / CONSOLE_SCRIPT).write_text('console.log("console")\n')
    (widget / ".vite").mkdir(parents=True)
    (widget / WIDGET_BUNDLE).write_text('console.log("widget")\n')
    manifest = {"src/main.ts": {"file": WIDGET_BUNDLE, "src": "src/main.ts", "isEntry": True}}
    (widget / ".vite" / "manifest.json").write_text(json.dumps(manifest))
    return BuiltAssets(console=console, widget=widget)
