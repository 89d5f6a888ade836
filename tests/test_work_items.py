"""Work items, claims and presence through the application services (memory store): each
test names the behaviour of the issue 'the team's work' it checks."""

from __future__ import annotations

import asyncio

import pytest

from application.services import Services
from domain import Conflict, Identity, InvalidInput, NotFound, PermissionDenied
from interfaces.bootstrap import memory_services
from tests.consolidation_support import FakeClock
from tests.mcp_support import BOOTSTRAP_KEY

SPACE = "team"


async def _team(clock: FakeClock | None = None) -> tuple[Services, dict[str, Identity]]:
    services = memory_services(BOOTSTRAP_KEY, clock=clock)
    admin = await services.auth.authenticate(BOOTSTRAP_KEY)
    await services.spaces.create(admin, SPACE, "a team", "")
    who: dict[str, Identity] = {"admin": admin}
    for name, permission in (("alice", "write"), ("bob", "write"), ("carol", "write"), ("lead", "manage")):
        issued = await services.auth.create(admin, name, permission, [SPACE])
        who[name] = await services.auth.authenticate(issued.secret)
    return services, who


async def test_a_todo_issue_or_question_is_an_open_item_from_the_moment_it_is_written() -> None:
    services, who = await _team()
    todo = await services.notes.write(who["alice"], SPACE, "todo", "Write the upgrade guide")
    await services.notes.write(who["alice"], SPACE, "observation", "CI is green")
    page = await services.work.list_items(who["bob"], SPACE)
    assert [(v.item.item_id, v.state, v.item.title) for v in page.items] == [
        (todo.note_id, "open", "Write the upgrade guide")
    ]


async def test_finishing_an_item_settles_it_writes_a_progress_note_and_releases_the_claim() -> None:
    services, who = await _team()
    question = await services.notes.write(who["alice"], SPACE, "question", "Which Python do we target?")
    await services.work.claim(who["bob"], SPACE, question.note_id)
    settled = await services.work.finish(who["bob"], SPACE, question.note_id, "3.12 and later")
    assert settled.state.value == "answered"
    assert settled.settled_by is not None
    assert settled.settled_by.value == "bob"
    notes = (await services.notes.read(who["alice"], SPACE, category="progress")).notes
    assert len(notes) == 1
    assert notes[0].content.startswith("Answered: Which Python do we target?")
    assert f"resolves:{question.note_id}" in notes[0].content
    assert await services.work.live_claims(settled.space_id) == []
    assert (await services.work.list_items(who["bob"], SPACE)).items == []
    done = await services.work.list_items(who["bob"], SPACE, state="answered")
    assert [v.item.outcome for v in done.items] == ["3.12 and later"]
    with pytest.raises(Conflict, match="already answered"):
        await services.work.finish(who["carol"], SPACE, question.note_id, "again")


async def test_a_later_note_settles_an_item_by_naming_it_and_a_ticket_number_does_not() -> None:
    services, who = await _team()
    issue = await services.notes.write(who["alice"], SPACE, "issue", "Upload stalls above 2 GiB (#12)")
    posted = await services.notes.post(who["bob"], SPACE, "progress", "Mentioned #12 in the changelog")
    assert posted.effects.settled == []
    posted = await services.notes.post(
        who["bob"],
        SPACE,
        "progress",
        f"Fixed the upload. resolves: {issue.note_id}, answers: 0123456789abcdef",
    )
    assert posted.effects.settled == [issue.note_id]
    assert posted.effects.not_settled
    assert posted.effects.not_settled[0].startswith("0123456789abcdef")
    (view,) = (await services.work.list_items(who["bob"], SPACE, state="done")).items
    assert view.item.settled_note == posted.note.note_id


async def test_two_agents_racing_for_one_claim_exactly_one_wins_and_the_loser_is_told_who() -> None:
    services, who = await _team()
    outcomes = await asyncio.gather(
        *(services.work.claim(who[n], SPACE, "file:src/app.py", 600) for n in ("alice", "bob", "carol")),
        return_exceptions=True,
    )
    won = [o for o in outcomes if not isinstance(o, BaseException)]
    lost = [o for o in outcomes if isinstance(o, BaseException)]
    assert len(won) == 1
    assert len(lost) == 2
    assert all(isinstance(e, Conflict) and f"claimed by {won[0].holder}" in str(e) for e in lost)


async def test_a_claim_is_renewed_by_its_holder_and_taken_over_only_after_it_expires() -> None:
    clock = FakeClock()
    services, who = await _team(clock)
    first = await services.work.claim(who["alice"], SPACE, "area:billing", 60)
    clock.advance(30)
    renewed = await services.work.claim(who["alice"], SPACE, "area:billing", 60)
    assert renewed.since == first.since
    assert renewed.until > first.until
    clock.advance(59)
    with pytest.raises(Conflict, match=r"claimed by alice until"):
        await services.work.claim(who["bob"], SPACE, "area:billing", 60)
    clock.advance(2)
    taken = await services.work.claim(who["bob"], SPACE, "area:billing", 60)
    assert taken.holder.value == "bob"
    assert taken.since == clock.now()


async def test_another_agents_claim_is_released_only_by_a_manager_with_force() -> None:
    services, who = await _team()
    await services.work.claim(who["alice"], SPACE, "file:README.md")
    with pytest.raises(PermissionDenied, match="claimed by alice"):
        await services.work.release(who["bob"], SPACE, "file:README.md")
    with pytest.raises(PermissionDenied):
        await services.work.release(who["bob"], SPACE, "file:README.md", force=True)
    released = await services.work.release(who["lead"], SPACE, "file:README.md", force=True)
    assert released is not None
    assert released.released
    assert await services.work.release(who["alice"], SPACE, "file:README.md") is None
    assert (await services.work.claim(who["bob"], SPACE, "file:README.md")).holder.value == "bob"


async def test_bad_input_gets_a_clear_error_and_changes_nothing() -> None:
    services, who = await _team()
    todo = await services.notes.write(who["alice"], SPACE, "todo", "Ship it")
    decision = await services.notes.write(who["alice"], SPACE, "decision", "We ship on Friday")
    await services.work.finish(who["alice"], SPACE, todo.note_id, "shipped")
    before = dict(services.store._objects)  # type: ignore[attr-defined]
    cases = [
        (services.work.claim(who["bob"], SPACE, todo.note_id), InvalidInput, "is done"),
        (services.work.claim(who["bob"], SPACE, "fedcba9876543210"), NotFound, "no work item"),
        (services.work.claim(who["bob"], SPACE, decision.note_id), InvalidInput, "only todo, issue and"),
        (services.work.claim(who["bob"], SPACE, ""), InvalidInput, "non-empty"),
        (services.work.claim(who["bob"], SPACE, "x" * 257), InvalidInput, "longer than 256 bytes"),
        (services.work.claim(who["bob"], SPACE, "file:a\x07b"), InvalidInput, "control characters"),
        (services.work.claim(who["bob"], SPACE, "area:x", 5), InvalidInput, "ttl_seconds"),
        (services.work.claim(who["bob"], SPACE, "area:x", 86_401), InvalidInput, "ttl_seconds"),
        (services.work.finish(who["bob"], SPACE, "not-an-id", "x"), InvalidInput, "item_id"),
        (services.work.finish(who["bob"], SPACE, "fedcba9876543210", "x"), NotFound, "no work item"),
        (services.work.finish(who["bob"], SPACE, todo.note_id, "  "), InvalidInput, "outcome"),
        (services.work.list_items(who["bob"], SPACE, state="closed"), InvalidInput, "state"),
        (services.work.list_items(who["bob"], SPACE, category="decision"), InvalidInput, "category"),
        (services.work.claim(who["bob"], "nowhere", "area:x"), PermissionDenied, "nowhere"),
    ]
    for call, error, words in cases:
        with pytest.raises(error, match=words):
            await call
    assert dict(services.store._objects) == before  # type: ignore[attr-defined]


async def test_an_item_is_dropped_by_its_author_or_a_manager_only() -> None:
    services, who = await _team()
    todo = await services.notes.write(who["alice"], SPACE, "todo", "Port the CLI to click")
    with pytest.raises(PermissionDenied, match="alice's"):
        await services.work.drop(who["bob"], SPACE, todo.note_id, "not needed")
    dropped = await services.work.drop(who["lead"], SPACE, todo.note_id, "typer already does it")
    assert dropped.state.value == "dropped"
    assert dropped.outcome == "typer already does it"


async def test_an_item_claimed_by_another_agent_is_settled_by_its_claimant_or_a_manager() -> None:
    services, who = await _team()
    todo = await services.notes.write(who["alice"], SPACE, "todo", "Rotate the keys")
    await services.work.claim(who["bob"], SPACE, f"item:{todo.note_id}")
    (view,) = (await services.work.list_items(who["alice"], SPACE, claimant="bob")).items
    assert view.state == "claimed"
    with pytest.raises(Conflict, match="claimed by bob"):
        await services.work.finish(who["carol"], SPACE, todo.note_id, "rotated")
    assert (await services.work.finish(who["lead"], SPACE, todo.note_id, "rotated")).state.value == "done"


async def test_items_come_in_pages_newest_first() -> None:
    clock = FakeClock()
    services, who = await _team(clock)
    ids = []
    for n in range(5):
        clock.advance(1)
        ids.append((await services.notes.write(who["alice"], SPACE, "todo", f"task {n}")).note_id)
    first = await services.work.list_items(who["bob"], SPACE, limit=2)
    second = await services.work.list_items(who["bob"], SPACE, limit=2, cursor=first.next_cursor)
    third = await services.work.list_items(who["bob"], SPACE, limit=2, cursor=second.next_cursor)
    got = [v.item.item_id for page in (first, second, third) for v in page.items]
    assert got == ids[::-1]
    assert third.next_cursor is None
    assert first.total_matching == 5


async def test_presence_lists_each_agent_with_its_last_note_and_what_it_holds() -> None:
    clock = FakeClock()
    services, who = await _team(clock)
    todo = await services.notes.write(who["alice"], SPACE, "todo", "Write docs")
    clock.advance(120)
    await services.notes.write(who["bob"], SPACE, "progress", "Tests pass")
    await services.work.claim(who["bob"], SPACE, todo.note_id, 7200)
    await services.work.claim(who["bob"], SPACE, "file:docs/index.md", 7200)
    clock.advance(3600)
    team = await services.presence.team(who["carol"], SPACE)
    assert [a.agent.value for a in team] == ["bob", "alice"]
    bob, alice = team
    assert bob.items == (todo.note_id,)
    assert bob.resources == ("file:docs/index.md",)
    assert bob.last_note_category is not None
    assert bob.last_note_category.value == "progress"
    assert alice.last_note_at == todo.created_at
    assert not alice.active
    assert not bob.active


def test_the_models_prompt_gives_each_items_true_state() -> None:
    """An LLM must never revive a closed item: the prompt lists the open items, their
    claimants, and the settled ones as settled."""
    from datetime import UTC, datetime

    from application.consolidation.planners import PlanRequest, render_prompt
    from domain import AgentName, NoteCategory, SpaceId, SpaceRules
    from domain.consolidation import RoutingTable
    from domain.work import Claim, ItemState, WorkItem

    at = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    space, alice = SpaceId(SPACE), AgentName("alice")
    rules = SpaceRules.default()
    still = WorkItem(space, "00000000000000a1", NoteCategory.ISSUE, alice, at, "CI is red")
    closed = WorkItem(
        space,
        "00000000000000a2",
        NoteCategory.TODO,
        alice,
        at,
        "Ship the docs",
        ItemState.DONE,
        AgentName("bob"),
    )
    held = Claim(space, "item:00000000000000a1", AgentName("carol"), at, at)
    request = PlanRequest(
        (), {}, rules, "", RoutingTable.from_rules(rules), items=[(still, held), (closed, None)]
    )
    prompt = render_prompt(request, [])
    part = prompt.split("# Work items", 1)[1]
    assert "- open, claimed by carol: [issue 00000000000000a1] CI is red" in part
    assert "- done by bob: [todo 00000000000000a2] Ship the docs" in part


async def test_a_presence_record_that_cannot_be_written_never_fails_the_write() -> None:
    """The note, the claim and the item change are stored first; presence is a courtesy."""
    from application.store import StoreUnavailable

    services, who = await _team()

    async def broken(*_args: object, **_kwargs: object) -> None:
        raise StoreUnavailable("the presence record could not be written")

    services.work._presence.record = broken  # type: ignore[method-assign]
    posted = await services.notes.post(who["alice"], SPACE, "todo", "Still written")
    claim = await services.work.claim(who["bob"], SPACE, posted.note.note_id)
    assert claim.holder.value == "bob"
    assert posted.effects.not_settled == []
    assert [v.item.title for v in (await services.work.list_items(who["carol"], SPACE)).items] == [
        "Still written"
    ]
