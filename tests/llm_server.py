"""A scripted OpenAI-compatible chat completions server on 127.0.0.1 (Starlette under
hypercorn): each request gets the next scripted answer; requests are recorded."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from collections.abc import AsyncIterator, Callable
from typing import Any

import attrs
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ops.server import serve_in_process


@attrs.define
class Answer:
    """One scripted answer.

    Attributes:
        content: the assistant message text (a plan, or garbage).
        status: HTTP status; not 200 sends an OpenAI-style error body.
        delay: seconds to wait first.
        refuse_json_schema: answer 400 when the request asks for ``json_schema``.
        finish_reason: ``stop`` or ``length``.
        make: builds the content from the prompt (the user message) instead.
        error: the error object a failing status sends (default: "scripted failure").
        accounts: a plan's content gets an outcome for every note of the prompt it does
            not name (``discarded``, "no lasting value (scripted)"), as a model that follows
            the instructions does; False sends the plan as written (a model that leaves
            notes out).
    """

    content: str = ""
    status: int = 200
    delay: float = 0.0
    refuse_json_schema: bool = False
    finish_reason: str = "stop"
    make: Callable[[str], str] | None = None
    error: dict[str, Any] | None = None
    accounts: bool = True


def plan_json(operations: list[dict[str, Any]], synthesis: str = "carried forward") -> str:
    """An edit plan as the model would write it."""
    return json.dumps({"operations": operations, "synthesis": synthesis})


@attrs.define
class ScriptedLLM:
    """The server's state: the script (the last answer repeats) and what it received."""

    script: list[Answer]
    requests: list[dict[str, Any]] = attrs.field(factory=list)
    paths: list[str] = attrs.field(factory=list)

    async def handle(self, request: Request) -> Response:
        body = json.loads(await request.body())
        self.requests.append(body)
        self.paths.append(request.url.path)
        answer = self.script.pop(0) if len(self.script) > 1 else self.script[0]
        await asyncio.sleep(answer.delay)
        wants_schema = (body.get("response_format") or {}).get("type") == "json_schema"
        if answer.refuse_json_schema and wants_schema:
            return _error(400, "response_format of type json_schema is not supported by this server")
        if answer.status != 200:
            if answer.error is not None:
                return JSONResponse({"error": answer.error}, status_code=answer.status)
            return _error(answer.status, "scripted failure")
        prompt = body["messages"][-1]["content"]
        content = answer.make(prompt) if answer.make else answer.content
        if answer.accounts:
            content = _accounted(content, prompt)
        return JSONResponse(
            {
                "id": "chatcmpl-1",
                "object": "chat.completion",
                "created": 0,
                "model": body.get("model"),
                "choices": [
                    {
                        "index": 0,
                        "finish_reason": answer.finish_reason,
                        "message": {"role": "assistant", "content": content},
                    }
                ],
                "usage": {"prompt_tokens": 120, "completion_tokens": 45, "total_tokens": 165},
            }
        )


_NOTE_LINE = re.compile(r"^- \[([0-9a-f]{8,}) \d{4}-\d{2}-\d{2} ", re.MULTILINE)


def _accounted(content: str, prompt: str) -> str:
    """``content`` with an outcome for every note of ``prompt`` it does not name, when it
    is a JSON plan; anything else as it is."""
    try:
        plan = json.loads(content)
    except ValueError:
        return content
    if not isinstance(plan, dict) or "operations" not in plan:
        return content
    outcomes = list(plan.get("outcomes") or [])
    named = {o.get("note_id") for o in outcomes if isinstance(o, dict)}
    outcomes += [
        {"note_id": note_id, "outcome": "discarded", "detail": "no lasting value (scripted)"}
        for note_id in _NOTE_LINE.findall(prompt)
        if note_id not in named
    ]
    return json.dumps({**plan, "outcomes": outcomes})


def filed_by_halves() -> Callable[[str], str]:
    """A scripted model that files every note of its prompt into a new section of
    progress.md (``Part N``), each said integrated there; ``made`` counts the notes of
    each prompt."""
    made: list[int] = []

    def filed(prompt: str) -> str:
        notes = re.findall(r"^- \[([0-9a-f]+) [^\]]*\] (.*)$", prompt, flags=re.MULTILINE)
        made.append(len(notes))
        section = {
            "op": "add_section",
            "file": "progress.md",
            "section": f"Part {len(made)}",
            "level": 2,
            "content": "\n".join(f"- {text}" for _, text in notes),
        }
        outcomes = [{"note_id": i, "outcome": "integrated", "detail": "progress.md"} for i, _ in notes]
        return json.dumps({"operations": [section], "synthesis": "filed", "outcomes": outcomes})

    filed.made = made  # type: ignore[attr-defined]
    return filed


def _error(status: int, message: str) -> Response:
    return JSONResponse(
        {"error": {"message": message, "type": "invalid_request_error", "code": None}}, status_code=status
    )


@contextlib.asynccontextmanager
async def scripted_llm(script: list[Answer]) -> AsyncIterator[tuple[str, ScriptedLLM]]:
    """Serve the script; yield the base URL (without ``/v1``) and the state."""
    state = ScriptedLLM(script)

    async def models(_: Request) -> Response:
        return JSONResponse(
            {
                "object": "list",
                "data": [{"id": "scripted-model", "object": "model", "created": 0, "owned_by": "tests"}],
            }
        )

    app = Starlette(
        routes=[
            Route("/v1/chat/completions", state.handle, methods=["POST"]),
            Route("/v1/models", models, methods=["GET"]),
        ]
    )
    async with serve_in_process(app) as base:
        yield base, state


def scripted_llm_env(llm_base: str) -> dict[str, str]:
    """The settings of a live-mem server that consolidates with the scripted model at
    ``llm_base``: small answers and context, so batches are many, and a 6 s lease, so a
    killed server's job is resumed quickly."""
    return {
        "LLMAAS_API_URL": f"{llm_base}/v1",
        "LLMAAS_API_KEY": "test",
        "LLMAAS_MODEL": "scripted",
        "LLMAAS_MAX_TOKENS": "64",
        "LLMAAS_CONTEXT_TOKENS": "1024",
        "CONSOLIDATION_TIMEOUT": "6",
    }


def log_every_note(prompt: str) -> str:
    """A deterministic "model": every note of the prompt becomes one bullet in the
    ``Log`` section of ``decisions.md``, in order, so the final bank is the same however
    the notes were batched."""
    new_notes = prompt.split("# New notes (oldest first)", 1)[1].split("\n# ", 1)[0]
    notes = [line for line in new_notes.splitlines() if line.startswith("- [")]
    bullets = "\n".join(notes)
    if "## Log" in prompt:
        op = {
            "op": "append_to_section",
            "file": "decisions.md",
            "section": "Log",
            "content": bullets,
            "level": 2,
        }
    else:
        op = {"op": "add_section", "file": "decisions.md", "section": "Log", "content": bullets, "level": 2}
    return plan_json([op], synthesis=f"{len(notes)} notes logged")
