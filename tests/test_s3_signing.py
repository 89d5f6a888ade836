"""Hybrid signing (Dell ECS): object calls SigV2, LIST and HEAD bucket SigV4; on a real
S3 server that verifies signatures (SeaweedFS)."""

from __future__ import annotations

from typing import Any

import pytest

from application.store import ObjectNotFound, StoreAccessDenied
from infrastructure.stores import S3ObjectStore
from tests.s3_servers import S3Server


async def _signed_calls(server: S3Server, mode: str) -> list[tuple[str, str, str]]:
    bucket = server.new_bucket()
    seen: list[tuple[str, str, str]] = []

    def hook(request: Any, **_: Any) -> None:
        auth = request.headers.get("Authorization", b"")
        auth = auth.decode() if isinstance(auth, bytes) else str(auth)
        seen.append((request.method, request.url, auth.split(" ", 1)[0]))
        assert not any(h.lower().startswith("x-amz-checksum") for h in request.headers)
        assert "x-amz-sdk-checksum-algorithm" not in {h.lower() for h in request.headers}

    store = await S3ObjectStore.open(server.config(bucket, mode), on_request=hook)  # type: ignore[arg-type]
    try:
        await store.ping()
        etag = await store.put("s/a.md", b"hello")
        await store.put_if_match("s/a.md", b"hello again", etag)
        await store.get("s/a.md")
        await store.head("s/a.md")
        assert [i.key async for p in store.list_pages("s/") for i in p] == ["s/a.md"]
        await store.delete("s/a.md")
        with pytest.raises(ObjectNotFound):
            await store.get("s/a.md")
    finally:
        await store.close()
    return seen


def _scheme(calls: list[tuple[str, str, str]], method: str, *, listing: bool = False) -> set[str]:
    return {auth for m, url, auth in calls if m == method and (("list-type=2" in url) == listing)}


async def test_hybrid_mode_signs_objects_sigv2_and_list_head_bucket_sigv4(seaweedfs: S3Server) -> None:
    calls = await _signed_calls(seaweedfs, "hybrid")
    assert _scheme(calls, "PUT") == {"AWS"}  # SigV2: "AWS AKID:signature"
    assert _scheme(calls, "DELETE") == {"AWS"}
    assert _scheme(calls, "GET") == {"AWS"}
    assert _scheme(calls, "GET", listing=True) == {"AWS4-HMAC-SHA256"}
    head_bucket = {a for m, url, a in calls if m == "HEAD" and url.rstrip("/").endswith(url.split("/")[3])}
    assert head_bucket == {"AWS4-HMAC-SHA256"}
    head_object = {a for m, url, a in calls if m == "HEAD" and url.endswith("/s/a.md")}
    assert head_object == {"AWS"}


async def test_sigv4_mode_signs_everything_sigv4(seaweedfs: S3Server) -> None:
    calls = await _signed_calls(seaweedfs, "sigv4")
    assert {auth for _, _, auth in calls} == {"AWS4-HMAC-SHA256"}


@pytest.mark.parametrize("mode", ["hybrid", "sigv4"])
async def test_wrong_secret_gives_a_clear_access_denied(seaweedfs: S3Server, mode: str) -> None:
    bucket = seaweedfs.new_bucket()
    store = await S3ObjectStore.open(seaweedfs.config(bucket, mode, secret="not-the-secret-at-all"))  # type: ignore[arg-type]
    try:
        with pytest.raises(StoreAccessDenied, match="refused our credentials"):
            await store.put("s/x", b"x")
        with pytest.raises(StoreAccessDenied, match="S3_SIGNATURE_MODE"):
            await store.ping()
    finally:
        await store.close()
