"""Exports and backup downloads (review item 3): the archive is built into a spool on
disk, not in memory; over HTTP the tool answers a single-use, expiring link instead of
the archive in base64 (twice); the server builds a bounded number at once and keeps a
bounded number waiting."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import io
import json
import os
import tarfile
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from application.ports import ArchiveSink
from application.services import Downloads
from application.store import StoredObject
from domain import NotFound, RateLimited
from infrastructure.spool import FileArchiveSpool, sweep_orphans
from infrastructure.stores import MemoryObjectStore
from infrastructure.system import RandomIds
from tests.consolidation_support import KEY, RULES, FakeClock, services_over
from tests.http_support import running_server, streamable_client
from tests.mcp_support import SPACE, connect, deploy, payload


def _names(data: bytes) -> list[str]:
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
        return archive.getnames()


async def test_over_http_an_export_is_a_single_use_link_and_no_base64() -> None:
    deployment = await deploy()
    for i in range(20):  # about 400 KB of notes
        await deployment.services.notes.write(
            await deployment.services.auth.authenticate(deployment.tokens["admin"]),
            SPACE,
            "observation",
            f"{i} " + hashlib.sha256(str(i).encode()).hexdigest() * 300,
        )
    token = deployment.tokens["read"]
    async with running_server(deployment.services) as base, streamable_client(base, token) as client:
        exported = await client.call_tool("space_export", {"space_id": SPACE})
        downloaded = await client.call_tool("backup_download", {"backup_id": deployment.backup_id})
        async with httpx.AsyncClient() as http:
            answers = []
            for result in (exported, downloaded):
                link = payload(result)["download_url"]
                first, again = await http.get(link), await http.get(link)
                answers.append((payload(result), first, again))
            unknown = await http.get(f"{base}/downloads/{'0' * 32}")
    wire = sum(len(getattr(c, "text", "")) for c in exported.content)
    assert wire < 2048  # the answer carries the link, not the archive
    assert "archive_base64" not in json.dumps(exported.structured_content)
    for answer, first, again in answers:
        assert answer["download_url"].startswith(f"{base}/downloads/")
        assert first.status_code == 200
        assert first.headers["content-type"] == "application/gzip"
        assert int(first.headers["content-length"]) == answer["size"] == len(first.content)
        assert hashlib.sha256(first.content).hexdigest() == answer["sha256"]
        assert len(_names(first.content)) == answer["files_count"]
        assert f"{SPACE}/_meta.json" in _names(first.content)
        assert answer["filename"] in first.headers["content-disposition"]
        assert again.status_code == 404  # spent
        assert again.json()["error"] == "NotFound"
    assert unknown.status_code == 404
    assert len([n for n in _names(answers[0][1].content) if "/live/" in n]) == 21


async def test_a_local_client_gets_the_archive_inline_once() -> None:
    deployment = await deploy()
    async with connect(deployment.services, deployment.tokens["read"]) as client:
        answer = payload(await client.call_tool("space_export", {"space_id": SPACE}))
    data = base64.b64decode(answer["archive_base64"])
    assert hashlib.sha256(data).hexdigest() == answer["sha256"]
    assert f"{SPACE}/_meta.json" in _names(data)
    with pytest.raises(NotFound):  # read once: nothing waits in the spool
        await deployment.services.downloads.claim("x")


class GatedStore(MemoryObjectStore):
    """Reads of notes wait until ``gate`` is set."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = asyncio.Event()

    async def get(self, key: str) -> StoredObject:
        if "/live/" in key:
            await self.gate.wait()
        return await super().get(key)


async def test_a_third_concurrent_export_is_refused_while_two_are_built() -> None:
    store = GatedStore()
    services = services_over(store, FakeClock())
    admin = await services.auth.authenticate(KEY)
    await services.spaces.create(admin, "proj", "", RULES)
    await services.notes.write(admin, "proj", "decision", "export me")
    building = [asyncio.create_task(services.spaces.export(admin, "proj")) for _ in range(2)]
    await asyncio.sleep(0.05)
    with pytest.raises(RateLimited, match=r"2 archives are being built.*retry after 5 s"):
        await asyncio.wait_for(services.spaces.export(admin, "proj"), timeout=2)
    store.gate.set()
    done = await asyncio.gather(*building)
    assert [d.files for d in done] == [3, 3]  # metadata, rules, the note
    assert (await services.spaces.export(admin, "proj")).files == 3  # a slot is free again
    await services.close()


async def _one(sink: ArchiveSink) -> int:
    await sink.add("proj/a.md", b"a")
    return 1


def _downloads(tmp_path: Path, clock: FakeClock, **bounds: int) -> Downloads:
    return Downloads(FileArchiveSpool(tmp_path), clock, RandomIds(), link_seconds=300, **bounds)


def _files(tmp_path: Path) -> int:
    return sum(1 for p in tmp_path.rglob("*.tar.gz"))


async def test_a_link_expires_and_its_archive_is_removed(tmp_path: Path) -> None:
    clock = FakeClock()
    downloads = _downloads(tmp_path, clock)
    staged = await downloads.stage("alice", "proj.tar.gz", _one)
    assert staged.expires_at == clock.now_value + timedelta(seconds=300)
    assert _files(tmp_path) == 1
    clock.advance(301)
    with pytest.raises(NotFound, match="unknown, already used or expired"):
        await downloads.claim(staged.ticket)
    assert _files(tmp_path) == 0
    await downloads.close()


async def test_an_abandoned_download_still_removes_its_archive(tmp_path: Path) -> None:
    downloads = _downloads(tmp_path, FakeClock())
    staged = await downloads.stage("alice", "proj.tar.gz", _one)
    _, chunks = await downloads.claim(staged.ticket)
    await chunks.__anext__()
    await chunks.aclose()  # the client went away mid-download
    assert _files(tmp_path) == 0
    with pytest.raises(NotFound):
        await downloads.claim(staged.ticket)


async def test_waiting_archives_are_bounded_per_caller_and_per_server(tmp_path: Path) -> None:
    clock = FakeClock()
    downloads = _downloads(tmp_path, clock, max_pending=3, pending_per_caller=2)
    await downloads.stage("alice", "a.tar.gz", _one)
    clock.advance(100)
    await downloads.stage("alice", "b.tar.gz", _one)
    with pytest.raises(RateLimited, match=r"2 of your archives wait.*retry after 200 s"):
        await downloads.stage("alice", "c.tar.gz", _one)
    await downloads.stage("bob", "d.tar.gz", _one)
    with pytest.raises(
        RateLimited, match=r"3 archives wait to be downloaded on this server.*retry after 200 s"
    ):
        await downloads.stage("carol", "e.tar.gz", _one)
    clock.advance(201)  # alice's first link expired: room again
    await downloads.stage("carol", "e.tar.gz", _one)
    assert _files(tmp_path) == 3
    await downloads.close()
    assert _files(tmp_path) == 0


async def test_a_failed_build_frees_its_slot_and_leaves_nothing(tmp_path: Path) -> None:
    downloads = _downloads(tmp_path, FakeClock(), max_building=1)

    async def failing(sink: ArchiveSink) -> int:
        await sink.add("proj/a.md", b"a")
        raise NotFound("space proj does not exist")

    with pytest.raises(NotFound):
        await downloads.stage("alice", "proj.tar.gz", failing)
    assert _files(tmp_path) == 0
    assert (await downloads.stage("alice", "proj.tar.gz", _one)).files == 1


async def test_a_spent_link_counts_until_its_download_ends(tmp_path: Path) -> None:
    """Second review, H3: a spent link whose download has not ended still holds its
    archive on disk, so it counts toward the caller's and the server's bounds."""
    downloads = _downloads(tmp_path, FakeClock(), max_pending=4, pending_per_caller=2)
    first = await downloads.stage("alice", "a.tar.gz", _one)
    second = await downloads.stage("alice", "b.tar.gz", _one)
    _, chunks = await downloads.claim(first.ticket)  # spent, not yet read
    with pytest.raises(RateLimited, match="2 of your archives wait"):
        await downloads.stage("alice", "c.tar.gz", _one)
    assert downloads.held()[0] == 2
    await chunks.aclose()
    assert downloads.held()[0] == 1
    await downloads.stage("alice", "c.tar.gz", _one)
    assert second.ticket != first.ticket
    await downloads.close()


async def test_a_stalled_download_is_cut_off_and_its_archive_removed(tmp_path: Path) -> None:
    clock = FakeClock()
    downloads = _downloads(tmp_path, clock)
    staged = await downloads.stage("alice", "a.tar.gz", _one)
    _, chunks = await downloads.claim(staged.ticket)
    assert _files(tmp_path) == 1
    clock.advance(301)  # the link expired, the download still open
    await downloads.stage("bob", "b.tar.gz", _one)
    assert _files(tmp_path) == 2
    clock.advance(299)  # a link's lifetime after its expiry; bob's first link still valid
    await downloads.stage("bob", "c.tar.gz", _one)
    assert _files(tmp_path) == 2  # alice's is gone, bob's two remain
    assert downloads.held()[0] == 2
    del chunks
    await downloads.close()


async def test_archives_on_disk_are_bounded_in_bytes_per_caller_and_in_total(tmp_path: Path) -> None:
    async def big(sink: ArchiveSink) -> int:
        await sink.add("proj/big.bin", os.urandom(128 * 1024))  # does not compress
        return 1

    downloads = Downloads(
        FileArchiveSpool(tmp_path), FakeClock(), RandomIds(), max_pending=100, max_bytes=400_000
    )
    await downloads.stage("alice", "a.tar.gz", big)  # alice holds up to 100,000 bytes
    with pytest.raises(RateLimited, match="EXPORT_SPOOL_MAX_BYTES"):
        await downloads.stage("alice", "a.tar.gz", big)
    assert downloads.held()[0] == 1  # the first may pass a quarter alone; the second may not
    for who in ("bob", "carol", "dave", "erin", "frank"):
        with contextlib.suppress(RateLimited):
            await downloads.stage(who, "b.tar.gz", big)
    count, size = downloads.held()
    assert size <= 400_000
    assert count == 3  # alice, bob, carol: dave's would pass the total
    assert _files(tmp_path) == count
    await downloads.close()


async def test_a_head_shows_the_headers_and_spends_nothing() -> None:
    deployment = await deploy()
    async with (
        running_server(deployment.services) as base,
        streamable_client(base, deployment.tokens["read"]) as client,
    ):
        link = payload(await client.call_tool("space_export", {"space_id": SPACE}))["download_url"]
        async with httpx.AsyncClient() as http:
            head = await http.head(link)
            get = await http.get(link)
            again = await http.head(link)
    assert head.status_code == 200
    assert head.headers["content-length"] == get.headers["content-length"]
    assert head.headers["repr-digest"] == get.headers["repr-digest"]
    assert get.status_code == 200
    assert len(get.content) == int(head.headers["content-length"])
    assert again.status_code == 404


async def test_an_interrupted_http_download_removes_its_archive_at_once(tmp_path: Path) -> None:
    deployment = await deploy()
    admin = await deployment.services.auth.authenticate(deployment.tokens["admin"])
    for i in range(40):  # a few hundred KB, more than one read of the socket
        await deployment.services.notes.write(
            admin, SPACE, "observation", f"{i} " + hashlib.sha256(str(i).encode()).hexdigest() * 300
        )
    async with (
        running_server(deployment.services) as base,
        streamable_client(base, deployment.tokens["read"]) as client,
    ):
        link = payload(await client.call_tool("space_export", {"space_id": SPACE}))["download_url"]
        assert deployment.services.downloads.held()[0] == 1
        async with httpx.AsyncClient() as http, http.stream("GET", link) as answer:
            assert answer.status_code == 200
            async for _ in answer.aiter_raw(1024):
                break  # the client goes away mid-download
        for _ in range(100):
            if deployment.services.downloads.held()[0] == 0:
                break
            await asyncio.sleep(0.05)
        assert deployment.services.downloads.held() == (0, 0)


def test_orphans_left_by_a_dead_server_are_swept_and_a_live_spool_is_kept(tmp_path: Path) -> None:
    import subprocess
    import sys

    script = (
        "import asyncio, os, sys\n"
        "from pathlib import Path\n"
        "from infrastructure.spool import FileArchiveSpool\n"
        "async def one(sink):\n"
        "    await sink.add('p/a.md', b'a')\n"
        "    return 1\n"
        "spool = FileArchiveSpool(Path(sys.argv[1]))\n"
        "asyncio.run(spool.build(one))\n"
        "os._exit(0)  # dies without discarding: what a crash leaves\n"
    )
    subprocess.run([sys.executable, "-c", script, str(tmp_path)], check=True, timeout=60)
    assert _files(tmp_path) == 1
    live = FileArchiveSpool(tmp_path)
    built = asyncio.run(live.build(_one))
    assert _files(tmp_path) == 2
    assert sweep_orphans(tmp_path) == 1
    assert _files(tmp_path) == 1  # the live spool's archive stays
    asyncio.run(live.discard(built))
    assert list(tmp_path.iterdir()) == []
