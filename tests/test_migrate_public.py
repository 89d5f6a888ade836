"""``live-mem migrate`` on a bucket laid out as the public live-memory server documents
it (DESIGN/live-mem/S3_DATA_MODEL.md: tokens file, space metadata, notes with YAML
front-matter, synthesis with front-matter, .keep sentinels); the objects are built here
from those documented formats."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from infrastructure import migration
from infrastructure.stores import FileSystemObjectStore
from interfaces.bootstrap import build_services
from interfaces.cli import main
from tests.mcp_support import BOOTSTRAP_KEY

SECRET = "lm_a-token-the-public-server-issued-0000000000"
NOTE_KEY = "proj/live/20260220T140000_cline_observation_a1b2c3d4.md"
BAD_NOTE_KEY = "proj/live/20260220T150000_bad name!_todo_e5f6a7b8.md"


def public_bucket() -> dict[str, bytes]:
    tokens = {
        "version": 1,
        "tokens": [
            {
                "hash": "sha256:" + hashlib.sha256(SECRET.encode()).hexdigest(),
                "name": "agent-cline",
                "permissions": ["read", "write"],
                "space_ids": ["proj"],
                "created_at": "2026-02-20T14:05:00Z",
                "expires_at": None,
                "last_used_at": "2026-02-20T18:00:00Z",
                "revoked": False,
            }
        ],
    }
    meta = {
        "space_id": "proj",
        "description": "API v3 refactoring project",
        "owner": "cline-dev",
        "created_at": "2026-02-20T14:00:00Z",
        "last_consolidation": "2026-02-20T16:00:00Z",
        "consolidation_count": 3,
        "total_notes_processed": 127,
        "version": 1,
    }
    note = (
        '---\ntimestamp: "2026-02-20T14:00:00Z"\nagent: "cline"\ncategory: "observation"\n'
        'tags: ["auth", "bearer"]\nspace_id: "proj"\n---\n\nThe Bearer token module works.\n'
    )
    bad = '---\ntimestamp: "2026-02-20T15:00:00Z"\nagent: "bad name!"\ncategory: "todo"\n---\n\nkept\n'
    synthesis = (
        '---\nconsolidated_at: "2026-02-20T16:00:00Z"\nnotes_processed: 42\n---\n\n## Synthesis\n- S3 only\n'
    )
    return {
        "_system/tokens.json": json.dumps(tokens).encode(),
        "proj/_meta.json": json.dumps(meta).encode(),
        "proj/_rules.md": b"# Rules\n\n## progress.md\nWhat happened.\n",
        "proj/_synthesis.md": synthesis.encode(),
        "proj/live/.keep": b"",
        "proj/bank/.keep": b"",
        NOTE_KEY: note.encode(),
        BAD_NOTE_KEY: bad.encode(),
        "proj/bank/progress.md": b"# Progress\n\n- auth done\n",
    }


def write_bucket(root: Path) -> None:
    for key, data in public_bucket().items():
        path = root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


async def snapshot(store: FileSystemObjectStore) -> dict[str, bytes]:
    return {i.key: (await store.get(i.key)).data async for page in store.list_pages("") for i in page}


async def test_the_dry_run_changes_nothing_and_apply_makes_spaces_notes_and_tokens_readable(
    tmp_path: Path,
) -> None:
    write_bucket(tmp_path)
    store = FileSystemObjectStore(tmp_path)
    services = build_services(store, bootstrap_key=BOOTSTRAP_KEY, store_kind="filesystem")
    admin = await services.auth.authenticate(BOOTSTRAP_KEY)
    assert await services.spaces.list(admin) == []  # not listed before the migration
    assert (await services.auth.authenticate(SECRET)).name.value == "agent-cline"  # tokens work at once

    before = await snapshot(store)
    found = await migration.plan(store)
    assert await snapshot(store) == before
    assert (found.tokens, found.spaces, found.notes) == (True, ("proj",), (NOTE_KEY,))
    assert [s for s in found.skipped if s.startswith(BAD_NOTE_KEY)]  # an agent name live-mem refuses

    await migration.apply(store, found, "20260301T000000000000Z")

    services = build_services(store, bootstrap_key=BOOTSTRAP_KEY, store_kind="filesystem")
    agent = await services.auth.authenticate(SECRET)  # the public server's token works as it was
    assert (agent.name.value, agent.permission.label, agent.spaces) == ("agent-cline", "write", ("proj",))
    [meta] = await services.spaces.list(admin)
    assert (meta.space_id.value, meta.description, meta.consolidations) == (
        "proj",
        "API v3 refactoring project",
        3,
    )
    page = await services.notes.read(agent, "proj")
    assert [(n.note_id, n.agent.value, n.content, n.tags) for n in page.notes] == [
        ("a1b2c3d4", "cline", "The Bearer token module works.", ("auth", "bearer"))
    ]
    assert page.notes[0].created_at.isoformat() == "2026-02-20T14:00:00+00:00"
    assert (await services.bank.read(agent, "proj", "progress.md")).content == "# Progress\n\n- auth done\n"
    overview = await services.spaces.overview(agent, "proj")
    assert overview.synthesis == "## Synthesis\n- S3 only\n"
    after = await snapshot(store)
    assert NOTE_KEY not in after
    assert BAD_NOTE_KEY in after  # what cannot be converted stays where it was
    assert "proj/live/.keep" not in after
    assert json.loads(after["_system/migrations/20260301T000000000000Z.json"])["state"] == "done"
    assert (await migration.plan(store)).empty


def test_the_cli_plans_then_applies(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = tmp_path / "data"
    write_bucket(data)
    for key in ("S3_BUCKET_NAME", "S3_ENDPOINT_URL", "LIVE_MEM_TOKEN"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.chdir(tmp_path)
    env = {"LIVE_MEM_DATA_DIR": str(data), "ADMIN_BOOTSTRAP_KEY": BOOTSTRAP_KEY}
    dry = CliRunner().invoke(main, ["migrate"], env=env, catch_exceptions=False)
    assert dry.exit_code == 0, dry.output
    assert "would convert" in dry.output
    assert (data / NOTE_KEY).exists()
    applied = CliRunner().invoke(main, ["migrate", "--apply", "--json"], env=env, catch_exceptions=False)
    assert applied.exit_code == 0, applied.output
    report = json.loads(applied.output)
    assert (report["applied"], report["spaces"], report["notes"]) == (True, ["proj"], 1)
    assert not (data / NOTE_KEY).exists()
    again = CliRunner().invoke(main, ["migrate"], env=env, catch_exceptions=False)
    assert "nothing to convert" in again.output


def _bomb(levels: int = 5) -> str:
    """A front-matter whose aliases nest ``levels`` deep, ten wide ("billion laughs";
    small here, so that a loader that expands it still ends)."""
    lines = ['a0: &a0 ["lol"]']
    lines.extend(f"a{n}: &a{n} [" + ", ".join([f"*a{n - 1}"] * 10) + "]" for n in range(1, levels))
    return "---\n" + "\n".join(lines) + f"\ntags: *a{levels - 1}\nagent: x\ncategory: todo\n---\n\nboom\n"


async def test_a_hostile_bucket_is_planned_safely(tmp_path: Path) -> None:
    """Second review, M9: a YAML alias bomb in a note, a ``_meta.json`` naming another
    space, and a tokens file granting an admin every space."""
    bucket = public_bucket()
    tokens = json.loads(bucket["_system/tokens.json"])
    tokens["tokens"].append({**tokens["tokens"][0], "hash": "sha256:" + "f" * 64, "name": "root"})
    tokens["tokens"][-1].update(permissions=["admin"], space_ids=[])
    bucket["_system/tokens.json"] = json.dumps(tokens).encode()
    bomb_key = "proj/live/20260220T160000_cline_todo_deadbeef.md"
    bucket[bomb_key] = _bomb().encode()
    bucket["evil/_meta.json"] = json.dumps(
        {**json.loads(bucket["proj/_meta.json"]), "description": "x"}
    ).encode()
    for key, data in bucket.items():
        (tmp_path / key).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / key).write_bytes(data)
    store = FileSystemObjectStore(tmp_path)
    found = await migration.plan(store)
    assert any(s.startswith(bomb_key) and "anchors or aliases" in s for s in found.skipped), found.skipped
    assert any(s.startswith("evil/_meta.json") and "names space 'proj'" in s for s in found.skipped)
    assert found.spaces == ("proj",)
    assert found.summary()["admin_everywhere"] == ["root"]
    await migration.apply(store, found, "20260301T000000000000Z")
    services = build_services(store, bootstrap_key=BOOTSTRAP_KEY, store_kind="filesystem")
    admin = await services.auth.authenticate(BOOTSTRAP_KEY)
    assert [m.description for m in await services.spaces.list(admin)] == ["API v3 refactoring project"]


def test_the_dry_run_warns_of_an_admin_token_for_every_space(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "data"
    write_bucket(data)
    tokens = json.loads((data / "_system/tokens.json").read_text())
    tokens["tokens"][0].update(permissions=["admin"], space_ids=[])
    (data / "_system/tokens.json").write_text(json.dumps(tokens))
    for key in ("S3_BUCKET_NAME", "S3_ENDPOINT_URL", "LIVE_MEM_TOKEN"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.chdir(tmp_path)
    env = {"LIVE_MEM_DATA_DIR": str(data), "ADMIN_BOOTSTRAP_KEY": BOOTSTRAP_KEY}
    dry = CliRunner().invoke(main, ["migrate"], env=env, catch_exceptions=False)
    assert "warning: token agent-cline will be an admin token for every space" in dry.output
