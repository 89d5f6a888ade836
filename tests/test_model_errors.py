"""The model adapter tells a server's refusals apart (issue 'abstractive consolidation that
cannot lie', item 2), and a failed job reports what it spent (item 3). The scripted
OpenAI-compatible server plays each refusal with a real server's words."""

from __future__ import annotations

from application.consolidation import AbstractivePlanner, JobRecord
from application.services import Services
from infrastructure.llm import OpenAICompatibleModel
from tests.consolidation_support import KEY
from tests.llm_server import Answer, filed_by_halves, plan_json, scripted_llm
from tests.test_abstractive import GOOD, SPACE, _run, _services

LLAMA_OVERFLOW = {  # llama.cpp's server, -c 8192, a 9,269-token prompt
    "code": 400,
    "message": "request (9269 tokens) exceeds the available context size (8192 tokens), try increasing it",
    "type": "exceed_context_size_error",
    "n_prompt_tokens": 9269,
    "n_ctx": 8192,
}


def _model(services: object) -> OpenAICompatibleModel:
    planner = services.jobs.service._planner  # type: ignore[attr-defined]
    assert isinstance(planner, AbstractivePlanner)
    return planner._model  # type: ignore[return-value]


async def _again(services: Services) -> JobRecord:
    admin = await services.auth.authenticate(KEY)
    job = await services.jobs.submit(admin, SPACE)
    await services.jobs.drain()
    return await services.jobs.status(admin, job.job_id)


async def test_an_overflow_learns_the_window_keeps_the_format_and_splits_the_batch() -> None:
    script = [Answer(status=400, error=LLAMA_OVERFLOW), Answer(make=filed_by_halves())]
    async with scripted_llm(script) as (base, llm):
        services = _services(base)
        done, _, live = await _run(services)
        assert _model(services).context_tokens == 8192  # later batches are packed to it
    assert done.state.value == "succeeded", done.error
    assert live == 0  # the two halves were planned in the same run
    assert [r["response_format"]["type"] for r in llm.requests] == ["json_schema"] * 3


async def test_an_overflow_on_a_single_note_fails_with_the_servers_reason() -> None:
    async with scripted_llm([Answer(status=400, error=LLAMA_OVERFLOW)]) as (base, _llm):
        services = _services(base)
        admin = await services.auth.authenticate(KEY)
        await services.spaces.create(admin, SPACE, "", "")
        await services.notes.write(admin, SPACE, "decision", "One very long decision.")
        done = await _again(services)
        live = (await services.notes.read(admin, SPACE)).total_matching
    assert done.state.value == "failed"
    assert "exceeds the available context size (8192 tokens)" in (done.error or "")
    assert live == 1  # the note stays in live/


async def test_another_refusal_is_an_error_with_its_reason_and_no_switch_to_json_mode() -> None:
    refusal = {"message": "temperature must be at most 1.0", "type": "invalid_request_error"}
    async with scripted_llm([Answer(status=400, error=refusal), Answer(GOOD)]) as (base, llm):
        services = _services(base)
        done, _, _ = await _run(services)
        again = await _again(services)
    assert done.state.value == "failed"
    assert "HTTP 400: temperature must be at most 1.0" in (done.error or "")
    assert again.state.value == "succeeded", again.error
    assert [r["response_format"]["type"] for r in llm.requests] == ["json_schema", "json_schema"]


async def test_a_failed_job_reports_the_tokens_it_spent_and_how_long_it_ran() -> None:
    bad = plan_json(
        [{"op": "append_to_section", "file": "decisions.md", "section": "Nope", "content": "x", "level": 2}]
    )
    async with scripted_llm([Answer(bad)]) as (base, _):
        done, _, _ = await _run(_services(base))
    assert done.state.value == "failed"
    assert done.report is not None
    assert (done.report.tokens_in, done.report.tokens_out) == (240, 90)  # two refused plans
    assert done.report.duration_s > 0
