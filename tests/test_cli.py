"""The ``live-mem`` command line against a local data directory, and ``serve --stdio``
driven by the SDK's stdio client."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import sys
import tarfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from mcp import Client, StdioServerParameters

from domain import LimitExceeded
from interfaces import bootstrap
from interfaces.cli import main
from tests.mcp_support import BOOTSTRAP_KEY, payload


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    values = {"LIVE_MEM_DATA_DIR": str(tmp_path / "data"), "ADMIN_BOOTSTRAP_KEY": BOOTSTRAP_KEY}
    for key in ("S3_BUCKET_NAME", "S3_ENDPOINT_URL", "LIVE_MEM_TOKEN"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.chdir(tmp_path)
    return values


def run(env: dict[str, str], *args: str) -> str:
    result = CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_spaces_notes_tokens_and_bank(env: dict[str, str], tmp_path: Path) -> None:
    rules = tmp_path / "rules.md"
    rules.write_text("# Rules\n\n## log.md\nEverything.\n")
    assert "created space demo" in run(env, "spaces", "create", "demo", "--rules", str(rules))
    assert "demo" in run(env, "spaces", "list")
    created = json.loads(run(env, "tokens", "create", "bob", "--space", "demo", "--json"))
    assert created["token"].startswith("lm_")
    run(env, "notes", "write", "demo", "decision", "ship it", "--token", created["token"])
    notes = json.loads(run(env, "notes", "read", "demo", "--json"))
    assert [(n["agent"], n["content"]) for n in notes] == [("bob", "ship it")]
    assert "bob" in run(env, "tokens", "list")
    run(env, "tokens", "revoke", created["token_id"])
    refused = CliRunner().invoke(main, ["notes", "read", "demo", "--token", created["token"]], env=env)
    assert refused.exit_code == 1
    assert "AuthenticationFailed" in refused.output
    assert run(env, "bank", "list", "demo").strip() == "empty bank"


def test_spaces_export_writes_a_space_over_the_tool_limit_to_a_file(
    env: dict[str, str], tmp_path: Path
) -> None:
    env = {**env, "EXPORT_MAX_BYTES": "1024"}  # what space_export may build
    run(env, "spaces", "create", "demo")
    run(env, "notes", "write", "demo", "decision", "x" * 2000)
    out = tmp_path / "demo.tar.gz"
    written = json.loads(run(env, "spaces", "export", "demo", str(out), "--json"))
    data = out.read_bytes()
    assert written["size"] == len(data)
    assert written["sha256"] == hashlib.sha256(data).hexdigest()
    with tarfile.open(out) as archive:
        names = archive.getnames()
    assert "demo/_meta.json" in names
    assert len([n for n in names if n.startswith("demo/live/")]) == 1

    async def tool_export() -> None:
        services = await bootstrap.services_from_settings(bootstrap.Settings.from_mapping(env))
        try:
            admin = await services.auth.authenticate(BOOTSTRAP_KEY)
            with pytest.raises(LimitExceeded, match="over the 1024-byte limit"):
                await services.spaces.export(admin, "demo")
        finally:
            await services.close()

    asyncio.run(tool_export())
    again = CliRunner().invoke(main, ["spaces", "export", "demo", str(out)], env=env)
    assert again.exit_code == 1
    assert "exists" in again.output


def test_bad_input_gives_a_clear_error_and_exit_1(env: dict[str, str]) -> None:
    result = CliRunner().invoke(main, ["spaces", "create", "Not_Valid"], env=env)
    assert result.exit_code == 1
    assert "invalid space id" in result.output


def test_store_check(env: dict[str, str]) -> None:
    result = CliRunner().invoke(main, ["store", "check", "--json"], env=env)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["ok"] is True


async def test_serve_stdio(env: dict[str, str]) -> None:
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "interfaces.cli", "serve", "--stdio"],
        env={**os.environ, **env, "LIVE_MEM_TOKEN": BOOTSTRAP_KEY},
    )
    async with Client(params) as client:
        created = payload(await client.call_tool("space_create", {"space_id": "stdio-space"}))
        listed = payload(await client.call_tool("space_list", {}))
    assert created["status"] == "created"
    assert [s["space_id"] for s in listed["spaces"]] == ["stdio-space"]


def test_consolidate_prints_the_report(env: dict[str, str], tmp_path: Path) -> None:
    rules = tmp_path / "rules.md"
    rules.write_text("# Rules\n\n## decisions.md\nDecisions.\n\n## progress.md\nA log.\n")
    run(env, "spaces", "create", "demo", "--rules", str(rules))
    run(env, "notes", "write", "demo", "decision", "ship it")
    run(env, "notes", "write", "demo", "progress", "shipped")
    report = json.loads(run(env, "consolidate", "demo", "--json"))
    assert report["state"] == "succeeded"
    assert report["report"]["notes_consumed"] == 2
    assert report["report"]["files_changed"] == ["decisions.md", "progress.md"]
    assert "ship it" in run(env, "bank", "read", "demo", "decisions.md")
    human = run(env, "consolidate", "demo")
    assert "0 notes in 0 batches" in human
    compacted = json.loads(run(env, "bank", "compact", "demo", "--json"))
    assert (compacted["batches"], compacted["notes_consumed"], compacted["archive_files"]) == (0, 0, [])
    assert run(env, "bank", "compact", "demo") == "the bank already fits its budgets\n"


@pytest.mark.parametrize("key", ["short-key", "change-me-change-me-change-me-change-me-now"])
def test_serve_refuses_a_short_or_placeholder_bootstrap_key(env: dict[str, str], key: str) -> None:
    from ops.server import free_port

    port = str(free_port())  # never the default 8080, which a running 'make run' holds
    result = CliRunner().invoke(main, ["serve", "--port", port], env={**env, "ADMIN_BOOTSTRAP_KEY": key})
    assert result.exit_code == 1
    assert "ADMIN_BOOTSTRAP_KEY" in result.output


def test_serve_stdio_without_a_token_refuses_to_start_and_names_the_variable(env: dict[str, str]) -> None:
    result = CliRunner().invoke(main, ["serve", "--stdio"], env=env)  # ADMIN_BOOTSTRAP_KEY is set
    assert result.exit_code == 1
    assert "LIVE_MEM_TOKEN" in result.output


def test_quickstart_on_a_busy_port_fails_in_one_line_and_mints_nothing(env: dict[str, str]) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        result = CliRunner().invoke(main, ["serve", "--quickstart", "--port", port], env=env)
    assert result.exit_code == 1
    assert result.output.count("\n") == 1
    assert "in use" in result.output
    assert "lm_" not in result.output
    assert json.loads(run(env, "tokens", "list", "--json")) == []


@pytest.mark.parametrize("key", ["short-key"])
def test_a_bad_bootstrap_key_is_named_even_when_the_port_is_taken(env: dict[str, str], key: str) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        result = CliRunner().invoke(main, ["serve", "--port", port], env={**env, "ADMIN_BOOTSTRAP_KEY": key})
    assert result.exit_code == 1
    assert "ADMIN_BOOTSTRAP_KEY" in result.output


def test_a_port_left_in_time_wait_by_the_last_run_is_free(env: dict[str, str]) -> None:
    """First hour, item 6: after Ctrl-C, 'make run' failed for about a minute with
    'Address already in use' though nothing listened (the probe bound without
    SO_REUSEADDR, unlike the server)."""
    import socket

    from interfaces.cli import _require_free_port

    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", 0))
    server.listen()
    port = server.getsockname()[1]
    client = socket.create_connection(("127.0.0.1", port))
    accepted, _ = server.accept()
    accepted.close()  # the server side closes first: its end of the connection waits in TIME_WAIT
    client.close()
    server.close()
    _require_free_port("127.0.0.1", port)  # no ClickException


async def test_quickstart_keeps_its_two_tokens_across_restarts_and_replaces_one_that_stopped(
    tmp_path: Path,
) -> None:
    """First hour, item 7: each run replaced the admin token it printed, and the client
    configurations handed agents that admin token."""
    from interfaces.bootstrap import Settings, memory_services
    from interfaces.quickstart import QUICKSTART_AGENT, banner, quickstart_tokens

    services = memory_services(BOOTSTRAP_KEY)
    admin = await services.auth.authenticate(BOOTSTRAP_KEY)
    path = tmp_path / "data.quickstart.json"
    first = await quickstart_tokens(services, admin, path)
    again = await quickstart_tokens(services, admin, path)
    assert (again.admin, again.agent, again.new) == (first.admin, first.agent, ())
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    agent = await services.auth.authenticate(first.agent)
    assert (agent.permission.label, agent.spaces) == ("write", ("*",))
    assert len(await services.auth.list(admin)) == 2  # no pile of tokens
    agent_id = next(r.token_id for r in await services.auth.list(admin) if r.name.value == QUICKSTART_AGENT)
    await services.auth.revoke(admin, agent_id)
    third = await quickstart_tokens(services, admin, path)
    assert third.admin == first.admin
    assert third.new == (QUICKSTART_AGENT,)
    assert third.agent != first.agent
    printed = banner(Settings.from_mapping({}), "memory", third, path, fresh_install=False)
    assert f"Bearer {third.agent}" in printed
    assert f"Bearer {third.admin}" not in printed  # agents never get the admin token
    assert "stopped working and was replaced" in printed
    assert "/ui" in printed


def test_store_check_on_an_unreachable_s3_is_bounded_shows_progress_and_prints_json(
    env: dict[str, str],
) -> None:
    import socket

    with socket.socket() as silent:  # accepts connections, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        s3 = {
            **env,
            "S3_ENDPOINT_URL": f"http://127.0.0.1:{silent.getsockname()[1]}",
            "S3_BUCKET_NAME": "b",
            "S3_ACCESS_KEY_ID": "k",
            "S3_SECRET_ACCESS_KEY": "s" * 20,
            "HEALTH_TIMEOUT_SECONDS": "1",
        }
        result = CliRunner().invoke(main, ["store", "check", "--json"], env=s3)
    assert result.exit_code == 1
    assert "checking S3 bucket b" in result.stderr
    answer = json.loads(result.stdout)
    assert answer["ok"] is False
    assert "did not answer within 1 s" in answer["error"]


async def test_audit_prints_the_records_newest_first(env: dict[str, str], tmp_path: Path) -> None:
    import asyncio

    from infrastructure.stores import FileSystemObjectStore
    from interfaces.bootstrap import build_services

    services = build_services(
        FileSystemObjectStore(tmp_path / "data"), bootstrap_key=BOOTSTRAP_KEY, store_kind="t"
    )
    for action in ("space_create", "space_delete"):
        await services.audit.record(token="ab" * 32, agent="ann", action=action, space="demo")
    printed = await asyncio.to_thread(run, env, "audit", "--json")  # the CLI runs its own event loop
    records = json.loads(printed)
    assert [(r["action"], r["agent"], r["token"]) for r in records] == [
        ("space_delete", "ann", "ab" * 8),
        ("space_create", "ann", "ab" * 8),
    ]


def test_serve_stdio_with_an_unknown_token_refuses_to_start_and_names_the_store(env: dict[str, str]) -> None:
    """First hour, item 8: it listed 44 tools that all failed with 'unknown token'."""
    result = CliRunner().invoke(main, ["serve", "--stdio"], env={**env, "LIVE_MEM_TOKEN": "lm_not-a-token"})
    assert result.exit_code == 1
    assert "unknown token" in result.output
    assert env["LIVE_MEM_DATA_DIR"] in result.output


def test_a_cli_command_with_an_unknown_token_names_the_store_it_used(env: dict[str, str]) -> None:
    refused = CliRunner().invoke(main, ["spaces", "list", "--token", "lm_elsewhere"], env=env)
    assert refused.exit_code == 1
    assert "unknown token" in refused.output
    assert env["LIVE_MEM_DATA_DIR"] in refused.output


def test_misspelt_settings_are_named_in_a_warning(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in {"S3_BUKCET_NAME": "mine", "LIVE_MEM_PORT": "9000", "PORT": "9000"}.items():
        monkeypatch.setenv(name, value)
    result = CliRunner().invoke(main, ["spaces", "list"], env=env)
    assert result.exit_code == 0, result.output
    for name in ("S3_BUKCET_NAME", "LIVE_MEM_PORT", "PORT"):
        assert f"warning: {name} is set but is not a live-mem setting" in result.output
    assert "MCP_SERVER_PORT" in result.output
    assert "warning: LIVE_MEM_DATA_DIR" not in result.output


def _s3_env(env: dict[str, str], port: int) -> dict[str, str]:
    return {
        **env,
        "S3_ENDPOINT_URL": f"http://127.0.0.1:{port}",
        "S3_BUCKET_NAME": "b",
        "S3_ACCESS_KEY_ID": "k",
        "S3_SECRET_ACCESS_KEY": "s" * 20,
    }


def test_store_check_names_a_refused_connection(env: dict[str, str]) -> None:
    """First hour, item 4: a refused connection was reported as 'did not answer'."""
    from ops.server import free_port

    result = CliRunner().invoke(main, ["store", "check", "--json"], env=_s3_env(env, free_port()))
    assert result.exit_code == 1
    assert "connection refused" in json.loads(result.stdout)["error"]


@pytest.mark.parametrize("case", ["refused", "silent"])
def test_serve_on_a_store_that_does_not_answer_fails_in_one_line_naming_it(
    env: dict[str, str], case: str
) -> None:
    """First hour, item 4: minutes of silence, then a 94-line traceback."""
    import socket

    from ops.server import free_port

    with socket.socket() as silent:  # accepts connections, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        port = silent.getsockname()[1] if case == "silent" else free_port()
        args = ["serve", "--quickstart", "--port", str(free_port())]
        result = CliRunner().invoke(main, args, env=_s3_env(env, port))
    assert result.exit_code == 1
    error = [line for line in result.output.splitlines() if line.startswith("Error")]
    assert len(error) == 1, result.output
    assert f"127.0.0.1:{port}" in error[0]
    assert ("connection refused" if case == "refused" else "did not answer within 10 s") in error[0]
    assert "lm_" not in result.output  # no token was made


async def test_a_call_on_a_store_that_never_answers_is_bounded_by_s3_call_timeout() -> None:
    import socket

    from application.store import StoreUnavailable
    from infrastructure.stores.s3 import S3ObjectStore
    from infrastructure.stores.s3_config import S3Config

    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        config = S3Config(
            bucket="b",
            access_key_id="k",
            secret_access_key="s" * 20,
            endpoint_url=f"http://127.0.0.1:{silent.getsockname()[1]}",
            read_timeout=60.0,
            call_timeout=1.0,
        )
        store = await S3ObjectStore.open(config)
        try:
            with pytest.raises(StoreUnavailable, match="timed out"):
                await store.get("proj/_meta.json")
        finally:
            await store.close()


def test_every_command_that_answers_prints_json_with_json_and_notes_take_tags(env: dict[str, str]) -> None:
    """First hour, item 8: README's promises (--json everywhere, --tags on notes write)."""
    import click

    from interfaces.cli import main as cli

    commands: list[click.Command] = []
    for entry in cli.commands.values():
        commands.extend(entry.commands.values() if isinstance(entry, click.Group) else [entry])
    without = [
        c.name for c in commands if c.name != "serve" and not any(p.name == "as_json" for p in c.params)
    ]
    assert without == []
    created = json.loads(run(env, "spaces", "create", "demo", "--json"))
    assert created["space_id"] == "demo"
    note = json.loads(
        run(env, "notes", "write", "demo", "decision", "ship it", "--tags", "api, auth", "--json")
    )
    assert note["tags"] == ["api", "auth"]
    tokens = json.loads(run(env, "tokens", "create", "eve", "--json"))
    assert json.loads(run(env, "tokens", "revoke", tokens["token_id"], "--json"))["revoked"] is True
