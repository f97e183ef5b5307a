"""What the browser tests check besides the page itself: no script error and no policy
violation (BrowserProblems), no serious accessibility violation (assert_accessible), and
screenshots for the README when asked (screenshot)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from playwright.async_api import ConsoleMessage, Error, Page

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = ROOT / "docs" / "screenshots"
CHROMIUM = Path("/usr/bin/chromium")
# Debian's Chromium as RECIPES.md runs it: no sandbox (root in a container), no GPU, and
# nothing that reaches the network on its own.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]

# Chromium reports violations in the console already; this makes each one a single line
# naming the directive, also for frames and workers' reports.
REPORT_POLICY_VIOLATIONS = """
document.addEventListener('securitypolicyviolation', (event) => {
  console.error(`CSP violation: ${event.violatedDirective} blocked ${event.blockedURI || 'inline'}`
    + ` at ${event.sourceFile || event.documentURI}:${event.lineNumber}`)
})
"""
# The console shows an API's 4xx to the person itself (a wrong password); Chromium still
# logs each as "Failed to load resource". Those are not faults, any other failed load is.
FAILED_LOAD = "Failed to load resource: the server responded with a status of 4"


@dataclass
class BrowserProblems:
    """Script errors and console errors of one page, to fail the test that caused them."""

    found: list[str] = field(default_factory=list)

    async def watch(self, page: Page) -> None:
        await page.add_init_script(REPORT_POLICY_VIOLATIONS)
        page.on("console", self._console)
        page.on("pageerror", self._page_error)

    def _console(self, message: ConsoleMessage) -> None:
        if message.type != "error":
            return
        url = str(message.location.get("url", ""))
        if message.text.startswith(FAILED_LOAD) and urlsplit(url).path.startswith("/api/"):
            return
        self.found.append(f"console error: {message.text} ({url})")

    def _page_error(self, error: Error) -> None:
        self.found.append(f"uncaught {error.name}: {error.message}")

    def assert_none(self) -> None:
        assert not self.found, "the page reported problems:\n" + "\n".join(self.found)


async def assert_accessible(page: Page, *, within: str | None = None) -> None:
    """axe-core finds no serious or critical WCAG violation on the page as it is now (or in
    the element `within` selects, shadow tree included)."""
    # Not add_script_tag: that inserts an inline <script>, which the console's policy
    # refuses. Playwright's evaluation runs outside the page's policy, so axe checks the page
    # exactly as served.
    await page.evaluate(AXE.read_text())
    results: dict[str, Any] = await page.evaluate(
        "(within) => axe.run(within ?? document, { resultTypes: ['violations'] })", within
    )
    serious = [v for v in results["violations"] if v["impact"] in {"serious", "critical"}]
    assert not serious, "axe found:\n" + "\n".join(
        f"- {v['id']} ({v['impact']}): {v['help']} at "
        + ", ".join(str(node["target"]) for node in v["nodes"][:3])
        for v in serious
    )


async def screenshot(page: Page, name: str) -> Path | None:
    """docs/screenshots/<name>.png when RELAYDESK_SCREENSHOTS=1 (for the README), else nothing."""
    if os.environ.get("RELAYDESK_SCREENSHOTS") != "1":
        return None
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    await page.screenshot(path=path)
    return path
