"""The page at /ui in a real headless Chromium (see tests/browser_support.py), against an
in-process server over a memory store seeded by ``deploy()``."""

from __future__ import annotations

import time

import pytest
from playwright.async_api import Page, expect

from domain import BankFile, BankFileName, SpaceId
from infrastructure.repositories import StoreBankRepository
from tests.browser_support import ui
from tests.http_support import streamable_client
from tests.mcp_support import BOOTSTRAP_KEY, SPACE, deploy

pytestmark = pytest.mark.slow

XSS = '<script>alert("note")</script> <img src=x onerror="alert(\'img\')"> done'
REFUSED_CALLS = """async () => {
    const auth = {Authorization: 'Bearer ' + sessionStorage.getItem('live-mem-token')};
    const json = {...auth, 'Content-Type': 'application/json'};
    const post = (url, body) => fetch(url, {method: 'POST', headers: json, body: JSON.stringify(body)});
    const calls = [
        fetch('/api/tokens', {headers: auth}),
        fetch('/api/audit', {headers: auth}),
        post('/api/spaces', {space_id: 'alpha'}),
        post('/api/spaces/alpha/delete', {confirm: true}),
        post('/api/spaces/alpha/backups', {}),
    ];
    const answers = await Promise.all(calls);
    return Promise.all(answers.map(async (r) => [r.status, (await r.json()).error]));
}"""


async def _tab(page: Page, name: str) -> None:
    await page.click(f"nav .tab[data-tab={name}]")


async def test_sign_in_keeps_the_token_out_of_cookies_and_urls_and_a_new_note_appears_within_2_s() -> None:
    deployment = await deploy()
    async with ui(deployment.services, deployment.tokens["read"]) as u:
        page = u.page
        await expect(page.locator("#whoami")).to_have_text("read-agent (read)")
        await expect(page.locator("#notes .note")).to_have_count(1)
        await expect(page.locator("#notes")).to_contain_text("We store everything in S3.")
        await expect(page.locator("#live-status")).to_have_text("● live")
        assert await page.context.cookies() == []
        assert "lm_" not in page.url
        assert await page.evaluate("sessionStorage.getItem('live-mem-token')") == deployment.tokens["read"]

        async with streamable_client(u.base, deployment.tokens["write"]) as client:
            await client.call_tool(
                "live_note", {"space_id": SPACE, "category": "insight", "content": "fresh from MCP"}
            )
        written = time.monotonic()
        fresh = page.locator("#notes .note", has_text="fresh from MCP")
        await expect(fresh).to_be_visible(timeout=2000)
        assert time.monotonic() - written < 2.0
        await expect(page.locator("#notes .note").first).to_contain_text("fresh from MCP")  # newest first
        await expect(fresh.locator(".agent")).to_have_text("write-agent")
        assert u.watch.dialogs == []
        assert u.watch.page_errors == []


async def test_the_timeline_filters_by_agent_and_category() -> None:
    deployment = await deploy()
    admin = await deployment.services.auth.authenticate(BOOTSTRAP_KEY)
    await deployment.services.notes.write(admin, SPACE, "todo", "write the page tests")
    async with ui(deployment.services, deployment.tokens["read"]) as u:
        notes = u.page.locator("#notes .note")
        await expect(notes).to_have_count(2)
        await u.page.select_option("#filter-category", "todo")
        await expect(notes).to_have_count(1)
        await expect(notes).to_contain_text("write the page tests")
        await u.page.select_option("#filter-category", "")
        await expect(notes).to_have_count(2)
        await u.page.fill("#filter-agent", "nobody")
        await u.page.press("#filter-agent", "Enter")
        await expect(notes).to_have_count(0)


async def test_the_bank_renders_with_budgets_and_a_consolidation_shows_in_history_with_its_diff() -> None:
    deployment = await deploy()
    services = deployment.services
    admin = await services.auth.authenticate(BOOTSTRAP_KEY)
    await services.notes.write(admin, SPACE, "decision", "Adopt **SQLite FTS5** for ranked search")
    await services.jobs.submit(admin, SPACE)
    await services.jobs.drain()
    async with ui(services, deployment.tokens["read"]) as u:
        page = u.page
        await _tab(page, "bank")
        await expect(page.locator("#bank-files button.file").first).to_be_visible()
        await expect(page.locator("#bank-files")).to_contain_text(" / ")  # tokens against the budget
        await expect(page.locator("#bank-view .rendered h1").first).to_be_visible()
        await page.click("#bank-files button.file[data-file='decisions.md']")
        await expect(page.locator("#bank-view .rendered")).to_contain_text("Adopt")
        await expect(page.locator("#archive-files button.file").first).to_be_visible()

        await _tab(page, "history")
        await expect(page.locator("#runs button").first).to_be_visible()
        view = page.locator("#run-view")
        await expect(view).to_contain_text("Notes consumed (2)")
        await expect(view.locator(".note", has_text="Adopt **SQLite FTS5**")).to_be_visible()
        await expect(view.locator(".diff .add", has_text="SQLite FTS5").first).to_be_visible()


async def test_search_finds_a_note() -> None:
    deployment = await deploy()
    async with ui(deployment.services, deployment.tokens["read"]) as u:
        await _tab(u.page, "search")
        await u.page.fill("#search-query", "store S3")
        await u.page.click("#search-form button[type=submit]")
        hit = u.page.locator("#search-results .hit").first
        await expect(hit).to_contain_text("everything in")
        await expect(hit.locator(".badge")).to_have_text("note")
        await expect(hit.locator("mark").first).to_be_visible()


async def test_a_read_token_sees_no_admin_controls_and_the_admin_api_refuses_it() -> None:
    deployment = await deploy()
    before = deployment.snapshot()
    async with ui(deployment.services, deployment.tokens["read"]) as u:
        await expect(u.page.locator("#admin-tab")).to_be_hidden()
        await expect(u.page.locator("#admin")).to_be_hidden()
        assert await u.page.evaluate(REFUSED_CALLS) == [[403, "PermissionDenied"]] * 5
    assert deployment.snapshot() == before


async def test_script_in_a_note_and_in_a_bank_file_shows_as_text_and_never_runs() -> None:
    deployment = await deploy()
    services = deployment.services
    admin = await services.auth.authenticate(BOOTSTRAP_KEY)
    await services.notes.write(admin, SPACE, "issue", XSS)
    content = f"# Context\n\n{XSS}\n\n[x](javascript:alert(3))\n"
    await StoreBankRepository(services.store).put(
        SpaceId(SPACE), BankFile(BankFileName("activeContext.md"), content)
    )
    async with ui(services, deployment.tokens["read"]) as u:
        page = u.page
        await expect(page.locator("#notes .note", has_text="done").locator(".content")).to_have_text(XSS)
        await _tab(page, "bank")
        await page.click("#bank-files button.file[data-file='activeContext.md']")
        rendered = page.locator("#bank-view .rendered")
        await expect(rendered).to_contain_text('<script>alert("note")</script>')
        await expect(rendered).to_contain_text("<img src=x onerror=")
        injected = "document.querySelectorAll('#app img, #app script, #app a[href^=javascript]').length"
        assert await page.evaluate(injected) == 0
        await page.wait_for_timeout(300)
        assert u.watch.dialogs == []
        assert u.watch.page_errors == []
        assert not [e for e in u.watch.console_errors if "Content Security Policy" in e]


async def test_a_revoked_token_is_signed_out_without_a_reload() -> None:
    deployment = await deploy()
    services = deployment.services
    admin = await services.auth.authenticate(BOOTSTRAP_KEY)
    async with ui(services, deployment.tokens["read"]) as u:
        await expect(u.page.locator("#live-status")).to_have_text("● live")
        record = next(r for r in await services.auth.list(admin) if r.name.value == "read-agent")
        await services.auth.revoke(admin, record.token_id)
        await expect(u.page.locator("#signin")).to_be_visible(timeout=8000)  # the feed rechecks every 5 s
        await expect(u.page.locator("#signin-error")).to_contain_text("no longer valid")
        assert await u.page.evaluate("sessionStorage.getItem('live-mem-token')") is None


async def test_the_admin_console_creates_a_space_and_a_token_shown_once_then_revokes_it() -> None:
    deployment = await deploy()
    services = deployment.services
    async with ui(services, BOOTSTRAP_KEY) as u:
        page = u.page
        await _tab(page, "admin")
        await page.fill("#new-space-id", "gamma")
        await page.fill("#new-space-description", "made in the page")
        await page.click("#space-form button[type=submit]")
        await expect(page.locator("#space-picker")).to_have_value("gamma")
        await expect(page.locator("#space-list")).to_contain_text("made in the page")

        await page.fill("#new-token-name", "page-made")
        await page.select_option("#new-token-permission", "write")
        await page.fill("#new-token-spaces", "gamma")
        await page.click("#token-form button[type=submit]")
        secret = await page.locator("#new-token-secret code").text_content()
        assert secret
        made = await services.auth.authenticate(secret)
        assert (made.name.value, made.spaces) == ("page-made", ("gamma",))
        row = page.locator("#tokens tr", has_text="page-made")
        await row.locator("button", has_text="Revoke").click()
        await expect(row).to_contain_text("revoked")
        await expect(page.locator("#audit")).to_contain_text("admin_revoke_token")
        await expect(page.locator("#audit")).to_contain_text("space_create")

        gamma = page.locator("#space-list li", has_text="gamma")
        await gamma.locator("button", has_text="Delete…").click()
        await page.fill("input[data-confirm=gamma]", "gamma")
        await gamma.locator("button", has_text="Delete for good").click()
        await expect(page.locator("#space-list")).not_to_contain_text("gamma")
        assert u.watch.dialogs == []
