"""What the browser tests share: Debian's Chromium through Playwright, a signed-in page per person, screenshots.

Why Debian's Chromium: nothing may download a browser here, so Playwright is pointed at /usr/bin/chromium
(`CATALOG_TEST_CHROMIUM` overrides the path). Screenshots are test artifacts: they land in `test-artifacts/
screenshots` at the repository root (or under `CATALOG_TEST_ARTIFACTS`), one PNG per named step, so a failing
run leaves pictures of what the browser showed.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("CATALOG_TEST_CHROMIUM", "/usr/bin/chromium")
LAPTOP = {"width": 1366, "height": 768}
TIMEOUT_MS = 10_000  # a local server answers in milliseconds; waiting 30 s only slows a failing run


def artifacts_dir() -> Path:
    folder = Path(os.environ.get("CATALOG_TEST_ARTIFACTS", ROOT / "test-artifacts")) / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def screenshot(page: Any, name: str) -> Path:
    """Save a full-page PNG named after the step (letters, digits, dashes)."""
    path = artifacts_dir() / (re.sub(r"[^A-Za-z0-9-]+", "-", name).strip("-") + ".png")
    page.screenshot(path=str(path), full_page=True)
    return path


def launch(playwright: Any) -> Any:
    """Headless Chromium from the system; a clear failure if it is missing (install the `chromium` package)."""
    if not Path(CHROMIUM).exists():
        raise RuntimeError(f"Chromium not found at {CHROMIUM}: apt-get install chromium (or set CATALOG_TEST_CHROMIUM)")
    return playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])


def sign_in(browser: Any, base_url: str, name: str, password: str, *, javascript: bool = True) -> Any:
    """A fresh browser context signed in as `name` through the login form; returns its page."""
    context = browser.new_context(base_url=base_url, viewport=LAPTOP, java_script_enabled=javascript)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    page.goto("/login")
    page.get_by_label("Name").fill(name)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r".*/$"))
    return page


def serious_violations(page: Any) -> list[str]:
    """axe-core's serious and critical accessibility violations of the current page, as readable lines."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    found = []
    for violation in results.response.get("violations", []):
        if violation.get("impact") in ("serious", "critical"):
            targets = [", ".join(node.get("target", [])) for node in violation.get("nodes", [])[:3]]
            found.append(f"{violation['id']} ({violation['impact']}): {violation['help']} at {targets}")
    return found
