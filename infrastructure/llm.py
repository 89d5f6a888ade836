"""``OpenAICompatibleModel``: the ``LanguageModel`` port on the openai SDK, for hosted APIs
(LLMaaS, OpenAI) and local OpenAI-compatible servers (llama.cpp's server, vLLM, Ollama).

- ``LLMAAS_API_URL`` is used as given: it already ends in ``/v1``; nothing is appended.
- The answer format is the standard JSON-schema response format ("Structured Outputs",
  OpenAI API reference, ``response_format={"type": "json_schema", ...}``). Only a server
  whose HTTP 400 says it does not take that format (its reason names ``response_format``,
  ``json_schema``, structured outputs or a grammar) gets JSON mode (``{"type":
  "json_object"}``, the schema in the prompt); the format is tried again every
  ``REPROBE_CALLS`` calls. A 400 saying the prompt exceeds the context window raises
  ``ModelContextOverflow`` and the window the server names (llama.cpp's ``n_ctx``, vLLM's
  ``max_model_len``, OpenAI's "maximum context length is N") becomes this adapter's
  ``context_tokens``, so later batches are packed to it. Any other 400 is an error with the
  server's reason. Errors carry the server's reason (at most 300 characters).
- Answers are parsed leniently: ``<think>...</think>`` blocks and Markdown code fences are
  stripped, the outermost JSON object is taken, raw newlines inside strings are accepted
  (``json.loads(strict=False)``); then cattrs structures it into the requested type.
- Timeouts and retries are the SDK's (exponential backoff on connection errors, 408, 409,
  429 and 5xx); token usage comes from the response's ``usage``.
"""

from __future__ import annotations

import json
import re
from typing import Any, Final, TypeVar

import cattrs
import openai
from cattrs.preconf.json import make_converter
from openai.types.chat import ChatCompletionMessageParam

from application.consolidation.ports import (
    InvalidModelOutput,
    ModelAnswer,
    ModelContextOverflow,
    ModelTimeout,
    ModelUnavailable,
)
from domain import DomainError

__all__ = ["OpenAICompatibleModel", "parse_json_leniently"]

T = TypeVar("T")
_THINK: Final = re.compile(r"<think>.*?</think>", re.DOTALL | re.IGNORECASE)
_FENCE: Final = re.compile(r"^```[a-zA-Z]*\s*|\s*```$")
_lenient = make_converter(forbid_extra_keys=False)
REPROBE_CALLS: Final = 50
_OVERFLOW: Final = re.compile(
    r"exceed_context_size|context (?:size|length|window)|maximum context length"
    r"|max_model_len|n_ctx|too many tokens",
    re.IGNORECASE,
)
_WINDOW: Final = (
    re.compile(r'"n_ctx"\s*:\s*(\d+)'),
    re.compile(r"available context size \((\d+) tokens\)"),
    re.compile(r"maximum context length is (\d+)"),
    re.compile(r"max_model_len\D{0,20}(\d+)"),
)
_NO_FORMAT: Final = re.compile(r"response_format|json_schema|structured output|grammar", re.IGNORECASE)


def _reason(exc: openai.APIStatusError, limit: int = 300) -> str:
    """The server's own words, on one line, at most ``limit`` characters: its error
    object's message, then the object's other fields (``n_ctx`` and the like)."""
    body = exc.body
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        rest = {k: v for k, v in body.items() if k != "message"}
        text = body["message"] + (" " + json.dumps(rest, ensure_ascii=False) if rest else "")
    else:
        text = exc.message
    return " ".join(text.split())[:limit]


def _window(reason: str) -> int | None:
    for pattern in _WINDOW:
        found = pattern.search(reason)
        if found:
            return int(found.group(1))
    return None


def parse_json_leniently(text: str) -> Any:
    """The JSON object in a model's answer (see the module docstring).

    Raises:
        InvalidModelOutput: no JSON object can be read, with the parser's reason.
    """
    cleaned = _THINK.sub("", text or "").strip()
    cleaned = _FENCE.sub("", cleaned).strip()
    start, end = cleaned.find("{"), cleaned.rfind("}")
    if start >= 0 and end <= start:
        raise InvalidModelOutput(
            "the answer is not valid JSON: it stops before its closing brace (truncated?)"
        )
    if start < 0:
        raise InvalidModelOutput(f"the answer holds no JSON object (it starts: {cleaned[:80]!r})")
    try:
        return json.loads(cleaned[start : end + 1], strict=False)
    except json.JSONDecodeError as exc:
        raise InvalidModelOutput(f"the answer is not valid JSON: {exc.msg} at character {exc.pos}") from None


class OpenAICompatibleModel:
    """The ``LanguageModel`` port over an OpenAI-compatible chat completions endpoint.

    Args:
        base_url: ``LLMAAS_API_URL`` (ends in ``/v1``).
        api_key: ``LLMAAS_API_KEY`` (any string for local servers).
        model: ``LLMAAS_MODEL``.
        max_tokens: answer budget (``LLMAAS_MAX_TOKENS``).
        temperature: ``LLMAAS_TEMPERATURE``.
        context_tokens: the model's context window (``LLMAAS_CONTEXT_TOKENS``).
        timeout: seconds per request; max_retries: the SDK's retries.
    """

    def __init__(
        self,
        *,
        base_url: str,
        api_key: str,
        model: str,
        max_tokens: int = 4096,
        temperature: float = 0.2,
        context_tokens: int = 32768,
        timeout: float = 120.0,
        max_retries: int = 2,
    ) -> None:
        self._client = openai.AsyncOpenAI(
            base_url=base_url, api_key=api_key or "none", timeout=timeout, max_retries=max_retries
        )
        self._model = model
        self._max_tokens = max_tokens
        self._temperature = temperature
        self._context = context_tokens
        self._json_mode_only = False
        self._json_mode_calls = 0

    @property
    def name(self) -> str:
        """The model name."""
        return self._model

    @property
    def context_tokens(self) -> int:
        """The context window."""
        return self._context

    @property
    def max_answer_tokens(self) -> int:
        """Tokens reserved for the answer."""
        return self._max_tokens

    async def complete(
        self, system: str, user: str, *, schema: dict[str, Any], schema_name: str, response_type: type[T]
    ) -> ModelAnswer[T]:
        """See :class:`application.consolidation.ports.LanguageModel`."""
        if self._json_mode_only and self._json_mode_calls >= REPROBE_CALLS:
            self._json_mode_only, self._json_mode_calls = False, 0  # try the format again
        if not self._json_mode_only:
            try:
                response = await self._create(
                    system,
                    user,
                    {
                        "type": "json_schema",
                        "json_schema": {"name": schema_name, "schema": schema, "strict": True},
                    },
                )
            except openai.BadRequestError as exc:
                self._refused(exc, format_may_fall_back=True)
                self._json_mode_only = True  # this server does not take the format: JSON mode
        if self._json_mode_only:
            self._json_mode_calls += 1
            prompt = f"{system}\n\nAnswer with one JSON object valid against this JSON Schema:\n"
            prompt += json.dumps(schema)
            try:
                response = await self._create(prompt, user, {"type": "json_object"})
            except openai.BadRequestError as exc:
                self._refused(exc, format_may_fall_back=False)
        choice = response.choices[0] if response.choices else None
        text = choice.message.content if choice is not None and choice.message else None
        if not text:
            raise InvalidModelOutput("the model answered with no content")
        if choice is not None and choice.finish_reason == "length":
            raise InvalidModelOutput("the answer was cut off at the token limit (truncated JSON)")
        data = parse_json_leniently(text)
        try:
            value = _lenient.structure(data, response_type)
        except (cattrs.BaseValidationError, DomainError, ValueError, TypeError, KeyError) as exc:
            detail = (
                "; ".join(cattrs.transform_error(exc)) if isinstance(exc, cattrs.BaseValidationError) else exc
            )
            raise InvalidModelOutput(f"the JSON does not match the schema: {detail}") from None
        usage = response.usage
        return ModelAnswer(
            value,
            usage.prompt_tokens if usage else 0,
            usage.completion_tokens if usage else 0,
        )

    def _refused(self, exc: openai.BadRequestError, *, format_may_fall_back: bool) -> None:
        """Tell a 400 apart (module docstring); return only when the response format
        itself was refused and JSON mode may be tried.

        Raises:
            ModelContextOverflow: the prompt is over the server's window (learnt here).
            ModelUnavailable: any other refusal, with the server's reason.
        """
        reason, whole = _reason(exc), _reason(exc, 100_000)
        if _OVERFLOW.search(whole):
            window = _window(whole)
            if window is not None and 0 < window < self._context:
                self._context = window
            raise ModelContextOverflow(
                f"the prompt is over the model's context window: HTTP 400: {reason}", window
            ) from None
        if format_may_fall_back and _NO_FORMAT.search(whole):
            return
        raise ModelUnavailable(f"the model refused the request: HTTP 400: {reason}") from None

    async def _create(self, system: str, user: str, response_format: dict[str, Any]) -> Any:
        messages: list[ChatCompletionMessageParam] = [
            {"role": "system", "content": system},
            {"role": "user", "content": user},
        ]
        fmt: Any = response_format
        try:
            return await self._client.chat.completions.create(
                model=self._model,
                messages=messages,
                response_format=fmt,
                max_tokens=self._max_tokens,
                temperature=self._temperature,
            )
        except openai.BadRequestError:
            raise
        except openai.APITimeoutError:
            raise ModelTimeout("the model did not answer in time") from None
        except openai.APIConnectionError:
            raise ModelUnavailable("cannot reach the model endpoint (LLMAAS_API_URL)") from None
        except openai.APIStatusError as exc:
            raise ModelUnavailable(
                f"the model endpoint failed: HTTP {exc.status_code}: {_reason(exc)}"
            ) from None

    async def ping(self) -> str:
        """``ok`` when the endpoint lists models, else why not (for health)."""
        try:
            await self._client.models.list()
        except openai.APIError as exc:
            return f"unreachable ({type(exc).__name__})"
        return "ok"

    async def close(self) -> None:
        """Close the HTTP client."""
        await self._client.close()
