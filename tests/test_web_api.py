"""The page's JSON API and static files over HTTP (no browser): security headers, the
Host/Origin checks of /mcp, the error format, one authorization path, the audit log."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from interfaces.web.security import CONTENT_SECURITY_POLICY
from tests.http_support import running_server
from tests.mcp_support import BOOTSTRAP_KEY, OTHER, SPACE, deploy

pytestmark = pytest.mark.slow


def _auth(token: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_the_page_and_the_api_carry_a_strict_policy_and_no_inline_script() -> None:
    deployment = await deploy()
    async with running_server(deployment.services) as base, httpx.AsyncClient(base_url=base) as http:
        page = await http.get("/ui")
        script = await http.get("/ui/static/app.js")
        api = await http.get("/api/whoami", headers=_auth(deployment.tokens["read"]))
    assert page.status_code == 200
    assert script.headers["content-type"].startswith(("text/javascript", "application/javascript"))
    for answer in (page, script, api):
        assert answer.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
        assert answer.headers["x-content-type-options"] == "nosniff"
    assert "unsafe-inline" not in CONTENT_SECURITY_POLICY
    assert "frame-ancestors 'none'" in CONTENT_SECURITY_POLICY
    assert "<script>" not in page.text  # the one script is /ui/static/app.js
    assert '<script src="/ui/static/app.js" defer></script>' in page.text


async def test_a_foreign_host_or_origin_is_refused_before_anything_changes() -> None:
    deployment = await deploy()
    before = deployment.snapshot()
    body = {"space_id": "gamma"}
    async with running_server(deployment.services) as base, httpx.AsyncClient(base_url=base) as http:
        host = await http.post(
            "/api/spaces", json=body, headers={**_auth(BOOTSTRAP_KEY), "Host": "evil.example"}
        )
        origin = await http.post(
            "/api/spaces", json=body, headers={**_auth(BOOTSTRAP_KEY), "Origin": "http://evil.example"}
        )
        plain = await http.post(
            "/api/spaces",
            content=b'{"space_id": "gamma"}',
            headers={**_auth(BOOTSTRAP_KEY), "Content-Type": "text/plain"},
        )
        page = await http.get("/ui", headers={"Host": "evil.example"})
    assert (host.status_code, origin.status_code, plain.status_code, page.status_code) == (421, 403, 400, 421)
    assert deployment.snapshot() == before


async def test_errors_have_one_format_and_the_status_of_their_kind() -> None:
    deployment = await deploy()
    async with running_server(deployment.services) as base, httpx.AsyncClient(base_url=base) as http:
        missing = await http.get("/api/spaces/nope/notes", headers=_auth(BOOTSTRAP_KEY))
        denied = await http.get("/api/spaces/beta/notes", headers=_auth(deployment.tokens["read"]))
        bad = await http.get(f"/api/spaces/{SPACE}/notes?limit=0", headers=_auth(deployment.tokens["read"]))
        anonymous = await http.get("/api/whoami")
        revoked = await http.get("/api/whoami", headers=_auth(deployment.tokens["revoked"]))
        body = await http.post(
            "/api/spaces",
            content=b"[1]",
            headers={**_auth(BOOTSTRAP_KEY), "Content-Type": "application/json"},
        )

    def shape(answer: httpx.Response) -> tuple[int, Any]:
        return answer.status_code, answer.json().get("error")

    assert shape(missing) == (404, "NotFound")
    assert shape(denied) == (403, "PermissionDenied")
    assert shape(bad) == (400, "InvalidInput")
    assert shape(body) == (400, "InvalidInput")
    assert missing.json()["status"] == "error"
    assert "nope" in missing.json()["message"]
    assert anonymous.status_code == 401
    assert revoked.status_code == 401
    assert "revoked" in revoked.headers["www-authenticate"]


async def test_console_calls_are_decided_by_the_services_and_audited() -> None:
    deployment = await deploy()
    manage = _auth(deployment.tokens["manage"])
    read = _auth(deployment.tokens["read"])
    async with running_server(deployment.services) as base, httpx.AsyncClient(base_url=base) as http:
        created = await http.post("/api/spaces", json={"space_id": "gamma"}, headers=read)
        outside = await http.post(f"/api/spaces/{SPACE}/backups", json={}, headers=manage)
        tokens = await http.get("/api/tokens", headers=manage)
        audit = await http.get("/api/audit?limit=10", headers=_auth(BOOTSTRAP_KEY))
    # A read token cannot create a space: refused as over MCP.
    assert created.status_code == 403
    assert outside.status_code == 200
    assert tokens.status_code == 403
    actions = [(r["action"], r["space_id"], r["outcome"]) for r in audit.json()["records"]]
    assert ("space_create", "gamma", "PermissionDenied") in actions
    assert ("backup_create", SPACE, "ok") in actions


async def test_the_run_detail_gives_the_consumed_notes_and_each_files_before_and_after() -> None:
    deployment = await deploy()
    services = deployment.services
    admin = await services.auth.authenticate(BOOTSTRAP_KEY)
    await services.notes.write(admin, SPACE, "decision", "first decision: use S3")
    await services.jobs.submit(admin, SPACE)
    await services.jobs.drain()
    await services.notes.write(admin, SPACE, "decision", "second decision: add a page")
    await services.jobs.submit(admin, SPACE)
    await services.jobs.drain()
    read = _auth(deployment.tokens["read"])
    async with running_server(services) as base, httpx.AsyncClient(base_url=base) as http:
        runs = (await http.get(f"/api/spaces/{SPACE}/history", headers=read)).json()["runs"]
        newest = (await http.get(f"/api/spaces/{SPACE}/history/{runs[0]['run_id']}", headers=read)).json()
        unknown = await http.get(f"/api/spaces/{SPACE}/history/nope", headers=read)
    assert [n["content"] for n in newest["notes"]] == ["second decision: add a page"]
    decisions = next(f for f in newest["files"] if f["filename"] == "decisions.md")
    assert "first decision" in decisions["before"]
    assert "second decision" not in decisions["before"]
    assert "second decision" in decisions["after"]
    assert any(line.startswith("+") and "second decision" in line for line in decisions["diff"])
    assert unknown.status_code == 404


async def test_the_event_stream_stops_sending_a_space_the_token_lost() -> None:
    """Second review, M1: after its token loses the space, the page's stream sends none
    of the space's notes and closes with ``forbidden``."""
    deployment = await deploy()
    admin = await deployment.services.auth.authenticate(BOOTSTRAP_KEY)
    reader = str(deployment.tokens["read"])
    events: list[tuple[str, str]] = []
    async with (
        running_server(deployment.services) as base,
        httpx.AsyncClient(base_url=base, timeout=30) as http,
        http.stream("GET", f"/api/spaces/{SPACE}/events", headers=_auth(reader)) as answer,
        asyncio.timeout(30),  # the stream must end by itself; without the fix it never does
    ):
        assert answer.status_code == 200
        kind = ""
        async for line in answer.aiter_lines():
            if line.startswith("event:"):
                kind = line.partition(":")[2].strip()
            elif line.startswith("data:"):
                events.append((kind, line))
                if kind == "ready":
                    tokens = await deployment.services.auth.list(admin)
                    token_id = next(t.token_id for t in tokens if t.name.value == "read-agent")
                    await deployment.services.auth.update(admin, token_id, spaces=[OTHER])
                    await deployment.services.notes.write(admin, SPACE, "decision", "secret plan")
                if kind in {"forbidden", "signout"}:
                    break
    kinds = [k for k, _ in events]
    assert kinds[0] == "ready"
    assert kinds[-1] == "forbidden"
    assert not any("secret plan" in data for _, data in events)


async def test_a_rate_limited_call_carries_retry_after_from_the_error_not_its_text() -> None:
    """Retry-After comes from the error's own ``retry_after`` (the page once read it out of
    the message with a regex, although error messages are never to be parsed)."""
    from interfaces.http import HttpOptions, build_http_app
    from ops.server import free_port, serve_in_process

    deployment = await deploy()
    port = free_port()
    options = HttpOptions(public_url=f"http://127.0.0.1:{port}", rate_limits=(("reads", "2/minute"),))
    app = build_http_app(deployment.services, options)
    async with serve_in_process(app, port) as base, httpx.AsyncClient(base_url=base) as http:
        answers = [await http.get("/api/spaces", headers=_auth(deployment.tokens["read"])) for _ in range(3)]
    refused = answers[-1]
    assert [a.status_code for a in answers] == [200, 200, 429]
    wait = int(refused.headers["retry-after"])
    assert 1 <= wait <= 60
    assert refused.json()["message"].endswith(f"retry after {wait} s")
