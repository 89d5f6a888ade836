"""A real headless Chromium for the page's tests: Debian's ``chromium`` driven by
Playwright for Python (``executable_path``; Playwright's own browser downloads are never
used). Without the browser the tests skip, naming the install command; under
``CI=true`` they fail instead, so that CI never counts a skipped browser test as passed.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import AsyncIterator
from typing import Any, Final

import attrs
import pytest
from playwright.async_api import Browser, ConsoleMessage, Dialog, Page, async_playwright

from application.services import Services
from tests.http_support import running_server

__all__ = ["INSTALL_HINT", "PageWatch", "Ui", "chromium_path", "open_browser", "signed_in_page", "ui"]

INSTALL_HINT: Final = "sudo apt-get install -y chromium  (Debian's browser; bash .ci/run installs it)"
_FLAGS: Final = (
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
)


def chromium_path() -> str:
    """The Chromium executable (``LIVE_MEM_CHROMIUM``, else ``chromium`` on PATH); skip,
    or fail under ``CI=true``, when there is none."""
    found = (
        os.environ.get("LIVE_MEM_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    )
    if found:
        return found
    message = f"no Chromium for the browser tests; install it with: {INSTALL_HINT}"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message)
    pytest.skip(message)


@contextlib.asynccontextmanager
async def open_browser() -> AsyncIterator[Browser]:
    """A headless Chromium for the duration of the context."""
    executable = chromium_path()
    flags = [*_FLAGS, "--no-sandbox"] if os.geteuid() == 0 else list(_FLAGS)
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=executable, headless=True, args=flags)
        try:
            yield browser
        finally:
            await browser.close()


@attrs.define
class PageWatch:
    """What a page did that a test may forbid: dialogs opened (``alert`` and friends),
    console errors (a Content-Security-Policy violation is one) and uncaught errors."""

    dialogs: list[str] = attrs.Factory(list)
    console_errors: list[str] = attrs.Factory(list)
    page_errors: list[str] = attrs.Factory(list)

    def attach(self, page: Page) -> None:
        async def on_dialog(dialog: Dialog) -> None:
            self.dialogs.append(f"{dialog.type}: {dialog.message}")
            await dialog.dismiss()

        def on_console(message: ConsoleMessage) -> None:
            if message.type == "error":
                self.console_errors.append(message.text)

        def on_error(error: Any) -> None:
            self.page_errors.append(str(error))

        page.on("dialog", on_dialog)
        page.on("console", on_console)
        page.on("pageerror", on_error)


@contextlib.asynccontextmanager
async def signed_in_page(
    browser: Browser, base: str, token: str, width: int = 1280
) -> AsyncIterator[tuple[Page, PageWatch]]:
    """A new page (own context: own sessionStorage) ``width`` pixels wide (1280: a
    desktop; 390: a phone), signed in with ``token``."""
    height = 860 if width >= 800 else 844
    context = await browser.new_context(viewport={"width": width, "height": height})
    page = await context.new_page()
    watch = PageWatch()
    watch.attach(page)
    try:
        await page.goto(f"{base}/ui")
        await page.fill("#token", token)
        await page.click("#signin-form button[type=submit]")
        await page.wait_for_selector("#app:not([hidden])", timeout=5000)
        yield page, watch
    finally:
        await context.close()


@attrs.frozen
class Ui:
    """A signed-in page on a running server."""

    base: str
    page: Page
    watch: PageWatch


@contextlib.asynccontextmanager
async def ui(services: Services, token: str | None, width: int = 1280) -> AsyncIterator[Ui]:
    """Serve ``services``, open Chromium ``width`` pixels wide and sign in with
    ``token``; close all on exit."""
    async with (
        running_server(services) as base,
        open_browser() as browser,
        signed_in_page(browser, base, token or "", width) as (page, watch),
    ):
        yield Ui(base, page, watch)
