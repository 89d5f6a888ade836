"""What a person sees at a desktop's and a phone's width (first hour, item 9), checked in
a real Chromium from the page's geometry and from screenshots (written to
``LIVE_MEM_SCREENSHOTS`` when set): the bank's file readable at 390 px, every tab on
screen, a first run with no space neither red nor "connecting…" forever, tags unlike
ticket references, jobs one line each with their age, a pointer to the bank when the
timeline is empty after a consolidation, and a favicon."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Page, expect

from application.services import Services
from interfaces.bootstrap import memory_services
from tests.browser_support import ui
from tests.mcp_support import BOOTSTRAP_KEY

pytestmark = pytest.mark.slow

SPACE = "demo"
RULES = "# Rules\n\n## decisions.md\nDecisions, dated.\n\n## progress.md\nWhat was done.\n"


async def _space(services: Services) -> None:
    admin = await services.auth.authenticate(BOOTSTRAP_KEY)
    await services.spaces.create(admin, SPACE, "a demo", RULES)
    for n in range(6):
        await services.notes.write(
            admin, SPACE, "decision", f"Decision {n}: keep every note in the object store.", ["tests"]
        )
    await services.jobs.submit(admin, SPACE)
    await services.jobs.drain()


async def _shot(page: Page, name: str, folder: Path) -> None:
    png = await page.screenshot(path=str(folder / f"{name}.png"), full_page=True)
    assert len(png) > 5_000, f"{name}: the screenshot looks empty"
    extra = os.environ.get("LIVE_MEM_SCREENSHOTS")
    if extra:
        await asyncio.to_thread(_keep, Path(extra), f"{name}.png", png)


def _keep(folder: Path, name: str, png: bytes) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(png)


@pytest.mark.parametrize("width", [1280, 390])
async def test_the_page_reads_well_at_a_desktops_and_a_phones_width(width: int, tmp_path: Path) -> None:
    services = memory_services(BOOTSTRAP_KEY)
    await _space(services)
    async with ui(services, BOOTSTRAP_KEY, width) as u:
        page = u.page
        for tab in await page.locator("nav .tab:visible").all():  # every tab on screen
            box = await tab.bounding_box()
            assert box is not None
            assert box["x"] >= 0
            assert box["x"] + box["width"] <= width
        await expect(page.locator("#notes-empty")).to_be_visible()  # all consolidated: a pointer
        await _shot(page, f"timeline-empty-{width}", tmp_path)
        await page.click("#notes-empty button[data-goto=bank]")
        await expect(page.locator("#bank-view .rendered h1").first).to_be_visible()
        article = await page.locator("#bank-view").bounding_box()
        assert article is not None
        assert article["width"] >= min(width - 40, 600)  # the file gets the width, not a sliver
        await _shot(page, f"bank-{width}", tmp_path)
        await page.click("nav .tab[data-tab=admin]")
        cell = page.locator("#jobs tbody tr td").nth(3)  # age
        await expect(cell).to_contain_text(" s")
        first = await page.locator("#jobs tbody tr").first.bounding_box()
        line = await page.evaluate("parseFloat(getComputedStyle(document.body).lineHeight)")
        assert first is not None
        assert first["height"] < 2.2 * line  # one line a job, dates and ids unwrapped
        await _shot(page, f"admin-{width}", tmp_path)
        async with httpx.AsyncClient(base_url=u.base) as http:
            icon = await http.get("/ui/static/favicon.svg")
        assert icon.status_code == 200
        assert not [e for e in u.watch.console_errors if "404" in e]
        assert u.watch.page_errors == []


async def test_tags_are_not_shown_like_ticket_references(tmp_path: Path) -> None:
    services = memory_services(BOOTSTRAP_KEY)
    admin = await services.auth.authenticate(BOOTSTRAP_KEY)
    await services.spaces.create(admin, SPACE, "", RULES)
    await services.notes.write(admin, SPACE, "issue", "Fix #58 in the parser", ["tests"])
    async with ui(services, BOOTSTRAP_KEY, 390) as u:
        tag = u.page.locator("#notes .note .tag")
        await expect(tag).to_have_text("tests")
        await _shot(u.page, "timeline-390", tmp_path)


async def test_a_first_run_with_no_space_says_what_to_do_calmly(tmp_path: Path) -> None:
    services = memory_services(BOOTSTRAP_KEY)
    async with ui(services, BOOTSTRAP_KEY, 390) as u:
        page = u.page
        await expect(page.locator("#message")).to_contain_text("create one under Admin")
        await expect(page.locator("#live-status")).to_have_text("no space yet")
        color = await page.locator("#message").evaluate("e => getComputedStyle(e).color")
        assert color != "rgb(179, 38, 30)"  # not the error red
        await _shot(page, "first-run-390", tmp_path)
