"""The page's work views in a real Chromium, at a desktop's and a phone's width: who is
active on the timeline (with what each holds) and the Items view (open and claimed
items, settled ones with their outcome). Screenshots go to ``LIVE_MEM_SCREENSHOTS``
when set."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import expect

from application.services import Services
from interfaces.bootstrap import memory_services
from tests.browser_support import ui
from tests.mcp_support import BOOTSTRAP_KEY
from tests.test_web_phone import _shot

pytestmark = pytest.mark.slow

SPACE = "team"


async def _team(services: Services) -> None:
    admin = await services.auth.authenticate(BOOTSTRAP_KEY)
    await services.spaces.create(admin, SPACE, "three agents", "")
    who = {}
    for name in ("alice", "bob", "carol"):
        who[name] = await services.auth.authenticate(
            (await services.auth.create(admin, name, "write", [SPACE])).secret
        )
    guide = await services.notes.write(who["alice"], SPACE, "todo", "Write the upgrade guide")
    await services.notes.write(who["bob"], SPACE, "question", "Which Python versions do we support?")
    blocker = await services.notes.write(who["carol"], SPACE, "issue", "CI is red on main since the merge")
    await services.work.claim(who["carol"], SPACE, blocker.note_id)
    await services.work.claim(who["carol"], SPACE, "file:ci/pipeline.yml")
    await services.work.finish(who["alice"], SPACE, guide.note_id, "Published in docs/upgrade.md")


@pytest.mark.parametrize("width", [1280, 390])
async def test_who_is_active_and_the_items_view_read_well(width: int, tmp_path: Path) -> None:
    services = memory_services(BOOTSTRAP_KEY)
    await _team(services)
    async with ui(services, BOOTSTRAP_KEY, width) as u:
        page = u.page
        presence = page.locator("#presence")
        await expect(presence).to_contain_text("Active now:")
        await expect(presence.locator(".who.active")).to_have_count(3)
        await expect(presence.locator(".who", has_text="carol")).to_contain_text("holds 2")
        box = await presence.bounding_box()
        assert box is not None
        assert box["x"] + box["width"] <= width
        await _shot(page, f"timeline-presence-{width}", tmp_path)

        await page.click("nav .tab[data-tab=items]")
        entries = page.locator("#items-list li")
        await expect(entries).to_have_count(2)  # the finished todo is gone
        await expect(entries.first).to_contain_text("CI is red on main")  # newest first
        await expect(entries.first.locator(".state")).to_have_text("claimed by carol")
        await expect(entries.nth(1)).to_contain_text("Which Python versions")
        await expect(page.locator("#items-count")).to_have_text("2 items")
        for entry in await entries.all():
            entry_box = await entry.bounding_box()
            assert entry_box is not None
            assert entry_box["x"] + entry_box["width"] <= width
        await _shot(page, f"items-{width}", tmp_path)

        await page.select_option("#items-state", "done,answered")
        await expect(entries).to_have_count(1)
        await expect(entries.first.locator(".outcome")).to_have_text(
            "done by alice: Published in docs/upgrade.md"
        )
