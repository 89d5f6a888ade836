"""The start-of-task context (issue 'what an agent pays and gets'): one call, in a fixed
order, within its token budget whatever the bank and the work hold; each cut part says
what it left out and how to read it; the same through the tool and the MCP prompts."""

from __future__ import annotations

import asyncio
import re
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from application.services import Services
from application.services.context import fit
from domain import BankFile, BankFileName, SpaceId
from domain.consolidation import estimate_tokens
from infrastructure.repositories import StoreBankRepository
from interfaces.bootstrap import memory_services
from tests.mcp_support import BOOTSTRAP_KEY, connect, error_text

SPACE = "ctx"
TITLES = ["Rules", "activeContext.md", "Open work items and your claims", "Relevant to the task"]


@given(
    lines=st.lists(st.text(min_size=0, max_size=300), max_size=40),
    allowed=st.integers(min_value=0, max_value=2000),
)
def test_a_part_keeps_a_prefix_within_its_room_and_counts_what_it_left(
    lines: list[str], allowed: int
) -> None:
    part = fit("Part", lines, allowed, lambda n: f"- … {n} more")
    assert part.tokens == estimate_tokens(part.text)
    assert part.tokens <= allowed
    if part.text:
        body = part.text.removeprefix("## Part\n\n").removesuffix("\n\n").split("\n")
        kept = body[:-1] if part.omitted else body
        assert "\n".join(kept) == "\n".join(lines[: len(kept)]) or not lines
        if part.omitted:
            assert part.omitted == f"- … {len(lines) - len(kept)} more"


async def _space(active_lines: int, items: int, notes: int) -> tuple[Services, Any]:
    services = memory_services(BOOTSTRAP_KEY)
    admin = await services.auth.authenticate(BOOTSTRAP_KEY)
    await services.spaces.create(admin, SPACE, "context", "")
    active = "# activeContext\n\n" + "\n".join(
        f"- line {n} about the storage layer" for n in range(active_lines)
    )
    await StoreBankRepository(services.store).put(
        SpaceId(SPACE), BankFile(BankFileName("activeContext.md"), active)
    )
    for n in range(items):
        await services.notes.write(
            admin, SPACE, "todo" if n % 3 else "issue", f"Fix the storage bug number {n}"
        )
    for n in range(notes):
        await services.notes.write(admin, SPACE, "decision", f"Storage decision {n}: keep objects immutable")
    return services, admin


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    budget=st.integers(min_value=200, max_value=6000),
    active_lines=st.integers(min_value=0, max_value=120),
    items=st.integers(min_value=0, max_value=40),
    notes=st.integers(min_value=0, max_value=15),
)
def test_the_context_never_exceeds_its_budget(budget: int, active_lines: int, items: int, notes: int) -> None:
    async def run() -> None:
        services, admin = await _space(active_lines, items, notes)
        found = await services.context.start(admin, SPACE, "storage bug", budget)
        assert sum(p.tokens for p in found.parts) <= budget  # each part in its room
        assert estimate_tokens(found.text) == found.tokens <= budget  # the stated estimator, whole text
        assert [p.title for p in found.parts] == TITLES
        for part in found.parts:
            if part.omitted:
                assert any(
                    tool in part.omitted
                    for tool in ("space_rules", "bank_read", "work_items", "memory_search")
                )

    asyncio.run(run())


async def test_a_big_space_in_a_small_budget_says_what_each_part_left_out() -> None:
    services, admin = await _space(active_lines=200, items=60, notes=10)
    found = await services.context.start(admin, SPACE, "storage bug", 1200)
    assert found.tokens <= 1200
    omitted = {p.title: p.omitted for p in found.parts}
    assert omitted["activeContext.md"].endswith("bank_read(ctx, activeContext.md) reads the whole file.")
    assert "more: work_items lists them." in omitted["Open work items and your claims"]
    text = found.text
    assert text.index("## Rules") < text.index("## activeContext.md") < text.index("## Open work items")
    shown = re.findall(r"^- (issue|todo) `", text, flags=re.MULTILINE)
    assert shown[0] == "issue"
    assert shown == sorted(shown, key=lambda c: c != "issue")  # blockers first


async def test_the_tool_and_the_prompts_give_the_same_context_to_a_read_token() -> None:
    services, admin = await _space(active_lines=5, items=3, notes=2)
    reader = (await services.auth.create(admin, "reader", "read", [SPACE])).secret
    writer_secret = (await services.auth.create(admin, "writer", "write", [SPACE])).secret
    writer = await services.auth.authenticate(writer_secret)
    item = (await services.work.list_items(admin, SPACE)).items[0].item.item_id
    await services.work.claim(writer, SPACE, item)
    async with connect(services, reader) as client:
        result = await client.call_tool("memory_context", {"space_id": SPACE, "task": "storage"})
        prompt = await client.get_prompt("start_task", {"space_id": SPACE, "task": "storage"})
    assert not error_text(result)
    body = result.structured_content or {}
    assert body["tokens"] <= body["budget_tokens"] == 4000
    assert body["text"] in prompt.messages[0].content.text  # type: ignore[union-attr]
    assert "(claimed by writer)" in body["text"]
    async with connect(services, writer_secret) as client:
        end = await client.get_prompt("end_task", {"space_id": SPACE})
    assert f"You hold: item:{item}." in end.messages[0].content.text  # type: ignore[union-attr]
