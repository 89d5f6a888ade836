"""Screenshots of the page on the demo's data (the shared dataset: 570 notes imported and
consolidated, the 30 newest left live), taken in a real Chromium and checked for what a
person sees. With ``LIVE_MEM_SCREENSHOTS=DIR`` they are also written to DIR (docs/ui/
holds the ones docs/ui.md shows)."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from datetime import datetime
from pathlib import Path

import pytest
from playwright.async_api import Page, expect

from interfaces.bootstrap import memory_services
from ops.dataset import NOTES_FILE, RULES_FILE
from tests.browser_support import ui
from tests.mcp_support import BOOTSTRAP_KEY

pytestmark = pytest.mark.slow

SPACE = "mcp-python-sdk"
LIVE = 30


async def _shot(page: Page, name: str, folder: Path, *, full_page: bool = False) -> Path:
    path = folder / f"{name}.png"
    png = await page.screenshot(path=str(path), full_page=full_page)
    assert len(png) > 20_000, f"{name}: the screenshot looks empty"
    extra = os.environ.get("LIVE_MEM_SCREENSHOTS")
    if extra:
        await asyncio.to_thread(_copy, path, Path(extra))
    return path


def _copy(path: Path, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(path, folder / path.name)


async def test_screenshots_of_timeline_bank_history_and_admin_on_the_demo_data(tmp_path: Path) -> None:
    services = memory_services(BOOTSTRAP_KEY)
    admin = await services.auth.authenticate(BOOTSTRAP_KEY)
    await services.spaces.create(admin, SPACE, "MCP Python SDK", RULES_FILE.read_text(encoding="utf-8"))
    rows = [line for line in NOTES_FILE.read_text(encoding="utf-8").splitlines() if line.strip()]
    rows.sort(key=lambda line: datetime.fromisoformat(json.loads(line)["timestamp"]))
    await services.imports.import_notes(admin, SPACE, "\n".join(rows[:-LIVE]))
    await services.jobs.submit(admin, SPACE)
    await services.jobs.drain()
    await services.imports.import_notes(admin, SPACE, "\n".join(rows[-LIVE:]))

    async with ui(services, BOOTSTRAP_KEY) as u:
        page = u.page
        await expect(page.locator("#notes .note")).to_have_count(LIVE)
        await expect(page.locator("#live-status")).to_have_text("● live")
        await _shot(page, "timeline", tmp_path)

        await page.click("nav .tab[data-tab=bank]")
        await expect(page.locator("#bank-view .rendered h1").first).to_be_visible()
        assert await page.locator("#archive-files button.file").count() > 0
        await _shot(page, "bank", tmp_path)

        await page.click("nav .tab[data-tab=history]")
        await expect(page.locator("#run-view .diff .add").first).to_be_visible()
        await expect(page.locator("#run-view")).to_contain_text("Notes consumed (")
        assert await page.locator("#runs button").count() >= 2  # the import was consolidated in batches
        await _shot(page, "history", tmp_path)

        await page.click("nav .tab[data-tab=admin]")
        await expect(page.locator("#jobs tbody tr").first).to_contain_text("succeeded")
        await page.click("#backup-create")
        await expect(page.locator("#backup-list li")).to_have_count(1)
        await page.fill("#new-token-name", "release-bot")
        await page.select_option("#new-token-permission", "write")
        await page.fill("#new-token-spaces", SPACE)
        await page.click("#token-form button[type=submit]")
        await expect(page.locator("#new-token-secret code")).to_contain_text("lm_")
        await expect(page.locator("#audit")).to_contain_text("admin_create_token")
        await _shot(page, "admin", tmp_path, full_page=True)
        assert u.watch.page_errors == []
