"""Arbitrary strings, numbers and shapes thrown at every tool's parameters: no unhandled
exception, no stack trace or internal path in any error, and nothing written outside the
caller's space."""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mcp import Client

from application.services import Services
from tests.mcp_support import BOOTSTRAP_KEY, error_text
from tests.test_mcp_authorization import TABLE

FUZZ_SPACE = "fuzz"
LEAKS = re.compile(r"Traceback|File \"|site-packages|/work/|\.py\b|0x[0-9a-f]{8,}")

_weird_text = st.one_of(
    st.text(max_size=80),
    st.sampled_from(
        [
            "",
            " ",
            "../../etc/passwd",
            "/abs.md",
            "a\x00b",
            "fuzz",
            "fuzz/../alpha",
            "*",
            "x" * 5000,
            "progress.md",
            "decision",
            "read,write",
            "fuzz/20260101T000000Z-00000000",
            "1970-01-01T00:00:00Z",
            "null",
            "{}",
            "<script>",
            "é" * 40,
        ]
    ),
)
_values = st.one_of(
    _weird_text,
    st.integers(min_value=-(2**63), max_value=2**63),
    st.booleans(),
    st.none(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.lists(_weird_text, max_size=4),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)


def _setup() -> tuple[Services, dict[str, Any], dict[str, list[str]]]:
    from interfaces.bootstrap import memory_services
    from interfaces.mcp import build_mcp_server
    from interfaces.metrics import Metrics

    async def build() -> tuple[Services, dict[str, Any], dict[str, list[str]]]:
        services = memory_services(BOOTSTRAP_KEY)
        admin = await services.auth.authenticate(BOOTSTRAP_KEY)
        await services.spaces.create(admin, FUZZ_SPACE, "fuzzing", "")
        await services.spaces.create(admin, "alpha", "a neighbour", "")
        await services.notes.write(admin, FUZZ_SPACE, "todo", "a note to find")
        token = (await services.auth.create(admin, "fuzzer", "manage", [FUZZ_SPACE])).secret
        servers = {
            "admin": build_mcp_server(services, Metrics(), local_token=BOOTSTRAP_KEY),
            "manage": build_mcp_server(services, Metrics(), local_token=token),
        }
        async with Client(servers["admin"]) as client:
            params = {
                t.name: list(t.input_schema.get("properties", {})) for t in (await client.list_tools()).tools
            }
        return services, servers, params

    return asyncio.run(build())


SERVICES, SERVERS, PARAMS = _setup()


def _allowed_key(key: str, data: bytes | None, tool: str) -> bool:
    if key.startswith("_system/jobs/"):  # a consolidation job record of the caller's space
        return data is not None and json.loads(data)["space_id"] == FUZZ_SPACE
    if key.startswith("_system/job-index/active/"):  # the index of the space's unfinished jobs
        return data is None or json.loads(data)["space"] == FUZZ_SPACE
    if key == "_system/job-index/v1":  # the job index, built once per store
        return True
    if key.startswith("_system/audit/"):  # the audit log records every attempt, refused ones too,
        # and the end of a consolidation the call started (bank_consolidate, admin_gc_notes)
        return data is not None and json.loads(data)["action"] in (tool, "consolidation_end")
    return key.startswith(
        (f"{FUZZ_SPACE}/", f"_backups/{FUZZ_SPACE}/", f"_system/job-index/space/{FUZZ_SPACE}/")
    ) or key in {
        f"_system/spaces/{FUZZ_SPACE}",
        "_system/tokens.json",
    }


@pytest.mark.parametrize("tool", sorted(TABLE))
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_fuzzed_parameters_fail_cleanly_and_stay_in_the_space(tool: str, data: st.DataObject) -> None:
    names = PARAMS[tool]
    chosen = data.draw(
        st.lists(st.sampled_from(names), unique=True) if names else st.just([]), label="params"
    )
    args: dict[str, Any] = {name: data.draw(_values, label=name) for name in chosen}
    if "space_id" in names and data.draw(st.booleans(), label="aim at the space"):
        args["space_id"] = FUZZ_SPACE
    server = SERVERS["admin" if tool.startswith("admin_") else "manage"]
    store = SERVICES.store
    before = dict(store._objects)  # type: ignore[attr-defined]

    async def call() -> str:
        async with Client(server) as client:
            return error_text(await client.call_tool(tool, args))

    text = asyncio.run(call())
    # the server's own crash text, not a drawn value the validation message echoes back
    assert "InternalError: unexpected server error" not in text, text
    assert not LEAKS.search(text), text
    after = store._objects  # type: ignore[attr-defined]
    changed = {k for k in set(before) | set(after) if before.get(k) != after.get(k)}
    # a manage token may create a new space (and is granted it): only that space's keys
    created = {
        k.removeprefix("_system/spaces/") for k in changed - set(before) if k.startswith("_system/spaces/")
    }
    assert tool == "space_create" or not created, sorted(changed)
    ours = {k for k in changed if k.split("/")[0] in created or k.removeprefix("_system/spaces/") in created}
    assert all(_allowed_key(k, after.get(k, (None,))[0], tool) for k in changed - ours), sorted(changed)
