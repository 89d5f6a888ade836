"""A consolidation request joins only a job whose selection covers it (first hour,
item 2): all notes, or the same agent's; any other request gets a job of its own that
runs after the space's earlier ones."""

from __future__ import annotations

from infrastructure.stores import MemoryObjectStore
from tests.consolidation_support import FakeClock, seed, services_over


async def test_requests_of_different_scope_get_their_own_jobs_and_every_note_is_consumed() -> None:
    clock = FakeClock()
    services = services_over(MemoryObjectStore(), clock)
    admin = await seed(services, clock)  # notes of alice, bob and carol
    tokens = {
        name: await services.auth.create(admin, f"{name}-2", role, ["proj"])
        for name, role in (("alice", "manage"), ("bob", "write"), ("carol", "write"))
    }
    me = {name: await services.auth.authenticate(t.secret) for name, t in tokens.items()}
    for name in ("bob", "carol"):  # a note each under the new identities
        await services.notes.write(me[name], "proj", "progress", f"{name} finished a task")
    bobs = await services.consolidation.submit(me["bob"], "proj")  # bob-2's own notes
    carols = await services.consolidation.submit(me["carol"], "proj")  # carol-2's own notes
    everything = await services.consolidation.submit(me["alice"], "proj")  # manage: all notes
    again = await services.consolidation.submit(admin, "proj")  # all notes again: joins
    await services.consolidation.drain()
    assert len({bobs.job_id, carols.job_id, everything.job_id}) == 3
    assert again.job_id == everything.job_id
    done = {
        j.job_id: await services.consolidation.status(admin, j.job_id) for j in (bobs, carols, everything)
    }
    assert all(j.state.value == "succeeded" for j in done.values()), [j.error for j in done.values()]
    consumed = {i: (j.report or {}).get("notes_consumed") for i, j in done.items()}
    assert consumed[bobs.job_id] == 1
    assert consumed[carols.job_id] == 1
    assert (await services.notes.read(admin, "proj")).notes == []  # the rest went in the third
