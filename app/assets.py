"""Serving the built front ends (the console and the widget bundle).

Vite names every built file after a hash of its content, so the file at a given URL never
changes and browsers may keep it for a year without asking again. Only the entry points
(the console's HTML shell, `/widget.js`) are revalidated on every load, so a deploy is
picked up at once. The widget's handlers live here rather than in `widgets/` because that
package stays out of the web layer (tests/test_architecture.py); it owns the sources and
says where its build lands.

A checkout that was never built answers 503 with how to build it, never a 500.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import anyio
from litestar import get
from litestar.datastructures import State
from litestar.response import File, Redirect

from app.errors import NotFound, Unavailable

IMMUTABLE = "public, max-age=31536000, immutable"
NO_CACHE = "no-cache"
# What Vite's output names look like ("index-B3xk_9aZ.js"): never a path, never "..".
ASSET_NAME = re.compile(r"^[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)+$")
WIDGET_MANIFEST = Path(".vite") / "manifest.json"


@dataclass(frozen=True)
class BuiltAssets:
    """Where the front ends' builds are: Vite's `outDir` of each."""

    console: Path  # index.html (the shell) and assets/
    widget: Path  # .vite/manifest.json and the content-hashed bundle


def not_built(what: str) -> Unavailable:
    return Unavailable(
        f"the {what} has not been built: run `make run`, or `npm ci && npm run build` "
        "in the checkout, then reload",
        code="frontend_not_built",
    )


async def hashed_file(directory: Path, name: str, *, headers: dict[str, str] | None = None) -> File:
    """A content-hashed build output file, cached for good."""
    path = directory / name
    if not ASSET_NAME.match(name) or not await anyio.Path(path).is_file():
        raise NotFound(f"there is no asset {name!r}")
    return File(
        path=path,
        filename=name,
        content_disposition_type="inline",
        headers={
            "Cache-Control": IMMUTABLE,
            "X-Content-Type-Options": "nosniff",
            **(headers or {}),
        },
    )


async def widget_bundle_name(directory: Path) -> str:
    """The hashed file name of the widget's entry, from Vite's manifest."""
    try:
        manifest = json.loads(await anyio.Path(directory / WIDGET_MANIFEST).read_text())
    except FileNotFoundError:
        raise not_built("chat widget") from None
    except ValueError:  # a build interrupted while writing it
        manifest = None
    chunks = manifest.values() if isinstance(manifest, dict) else []
    entries = [c.get("file") for c in chunks if isinstance(c, dict) and c.get("isEntry")]
    if len(entries) != 1 or not isinstance(entries[0], str) or not ASSET_NAME.match(entries[0]):
        raise not_built("chat widget (its build manifest names no single entry)")
    return entries[0]


@get("/widget.js", include_in_schema=False, summary="The chat widget (redirects to its build)")
async def widget_loader(state: State) -> Redirect:
    """The stable URL a customer's site embeds; it points at today's content-hashed bundle.

    The redirect itself is revalidated on each page load (no-cache) so a deploy reaches
    every site at once; the bundle it points at is then served from the browser's cache.
    """
    assets: BuiltAssets = state.assets
    name = await widget_bundle_name(assets.widget)
    return Redirect(f"/widget/{name}", status_code=302, headers={"Cache-Control": NO_CACHE})


@get("/widget/{name:str}", include_in_schema=False, summary="A content-hashed widget file")
async def widget_file(name: str, state: State) -> File:
    assets: BuiltAssets = state.assets
    # Other origins load it with a plain <script> tag; let sites that isolate themselves
    # (Cross-Origin-Embedder-Policy) load it too.
    return await hashed_file(
        assets.widget, name, headers={"Cross-Origin-Resource-Policy": "cross-origin"}
    )


WIDGET_ROUTES = [widget_loader, widget_file]
