"""A scripted OpenAI-compatible embeddings server on 127.0.0.1: a text's vector counts
the words of a few fixed concept groups, so that "car" and "automobile" are neighbours
without any model. Requests are recorded; ``failing`` makes it answer 500."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from collections.abc import AsyncIterator
from typing import Any

import attrs
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ops.server import serve_in_process

CONCEPTS = (
    {"car", "cars", "automobile", "vehicle", "truck"},
    {"bucket", "storage", "disk", "s3", "objects"},
    {"lunch", "menu", "food", "pizza"},
    {"bug", "crash", "failure", "error"},
)


def vector(text: str) -> list[float]:
    """The scripted embedding: one count per concept group, plus a constant so that no
    vector is zero."""
    words = re.findall(r"\w+", text.lower())
    return [float(sum(w in group for w in words)) for group in CONCEPTS] + [0.01]


@attrs.define
class ScriptedEmbeddings:
    """What the server received, and whether it fails."""

    inputs: list[list[str]] = attrs.field(factory=list)
    failing: bool = False
    padding: int = 0  # zeros added to every vector: another model's dimension
    delay: float = 0.0  # seconds to wait before answering: a slow endpoint

    async def handle(self, request: Request) -> Response:
        body: dict[str, Any] = json.loads(await request.body())
        if self.failing:
            return JSONResponse(
                {"error": {"message": "scripted outage", "type": "server_error"}}, status_code=500
            )
        texts = body["input"] if isinstance(body["input"], list) else [body["input"]]
        self.inputs.append(texts)
        if self.delay:
            await asyncio.sleep(self.delay)
        data = [
            {"object": "embedding", "index": i, "embedding": vector(t) + [0.0] * self.padding}
            for i, t in enumerate(texts)
        ]
        usage = {"prompt_tokens": 1, "total_tokens": 1}
        return JSONResponse({"object": "list", "data": data, "model": body["model"], "usage": usage})


@contextlib.asynccontextmanager
async def scripted_embeddings() -> AsyncIterator[tuple[str, ScriptedEmbeddings]]:
    """Serve it; yield the base URL (with ``/v1``) and the state."""
    state = ScriptedEmbeddings()
    app = Starlette(routes=[Route("/v1/embeddings", state.handle, methods=["POST"])])
    async with serve_in_process(app) as base:
        yield f"{base}/v1", state
