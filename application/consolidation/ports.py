"""Ports of consolidation: the language model, journals, leases and jobs."""

from __future__ import annotations

import builtins
import enum
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Generic, Protocol, TypeVar

import attrs

from application.consolidation.report import ConsolidationReport
from domain import SpaceId
from domain.consolidation import Journal

__all__ = [
    "ModelError",
    "ModelUnavailable",
    "ModelContextOverflow",
    "ModelTimeout",
    "InvalidModelOutput",
    "ModelAnswer",
    "LanguageModel",
    "JournalRepository",
    "Lease",
    "LeaseRepository",
    "JobState",
    "JobRecord",
    "JobRepository",
    "TopicExtractor",
]

T = TypeVar("T")


class ModelError(Exception):
    """Base of the language model port's errors; adapters raise nothing else."""


class ModelUnavailable(ModelError):
    """The endpoint could not be reached, refused us, or kept failing after retries."""


class ModelContextOverflow(ModelError):
    """The server refused the request as longer than its context window. ``context_tokens``
    is the window it said it has (llama.cpp's ``n_ctx``, vLLM's ``max_model_len``), when it
    said one; the adapter packs later batches to it."""

    def __init__(self, message: str, context_tokens: int | None = None) -> None:
        super().__init__(message)
        self.context_tokens = context_tokens


class ModelTimeout(ModelError):
    """The model did not answer in time."""


class InvalidModelOutput(ModelError):
    """The answer is not JSON of the requested shape; the message says what is wrong."""


@attrs.frozen
class ModelAnswer(Generic[T]):
    """A parsed answer and the tokens the provider counted (0 when it reports none)."""

    value: T
    input_tokens: int
    output_tokens: int


class LanguageModel(Protocol):
    """A chat model that answers with JSON matching a schema."""

    @property
    def name(self) -> str:
        """The model's name, for reports."""
        ...

    @property
    def context_tokens(self) -> int:
        """The context window the prompts must fit in."""
        ...

    @property
    def max_answer_tokens(self) -> int:
        """Tokens reserved for each answer."""
        ...

    async def complete(
        self, system: str, user: str, *, schema: dict[str, Any], schema_name: str, response_type: type[T]
    ) -> ModelAnswer[T]:
        """Ask once; parse the answer into ``response_type``.

        Raises:
            ModelUnavailable, ModelTimeout, InvalidModelOutput.
        """
        ...


class TopicExtractor(Protocol):
    """Finds the most distinctive terms of a collection of texts (the brief's topic map).

    Implementations are deterministic: the same texts give the same terms in the same
    order. Terms keep code identifiers whole (``ClientSession``, ``streamable_http``) and
    leave out English stop words.
    """

    def topics(self, texts: Sequence[str], limit: int) -> list[tuple[str, list[int]]]:
        """At most ``limit`` terms, most distinctive first, each with the indices of the
        texts that contain it (ascending). An empty collection gives no terms."""
        ...


class JournalRepository(Protocol):
    """Journals under ``{space}/_consolidations/{run_id}.json``."""

    async def run_ids(self, space_id: SpaceId, *, after: str = "") -> list[str]:
        """The space's journal run ids, sorted, from a listing alone; with ``after``,
        only the ids that sort after it (run ids begin with their time)."""
        ...

    async def get(self, space_id: SpaceId, run_id: str) -> Journal:
        """One journal. Raises ``NotFound``."""
        ...

    async def prepare(self, journal: Journal) -> None:
        """Write a ``prepared`` journal (put-if-absent: a run id is used once), its
        pending marker first."""
        ...

    async def mark_committed(self, journal: Journal) -> None:
        """Record that ``journal`` is fully applied."""
        ...

    async def mark_abandoned(self, journal: Journal) -> None:
        """Record that ``journal`` (prepared) is given up: rewrite it as ``abandoned``."""
        ...

    async def list(self, space_id: SpaceId) -> list[Journal]:
        """Every journal of the space, oldest first (reads them all: see
        :mod:`application.consolidation.journals` for reads that cost what they return)."""
        ...

    async def delete(self, space_id: SpaceId, run_id: str) -> None:
        """Delete one journal (idempotent)."""
        ...

    async def pending(self, space_id: SpaceId) -> builtins.list[Journal]:
        """The journals left ``prepared``, oldest first, reading only those (each has a
        marker from its preparation to its commit or abandonment); a journal that
        cannot be read is skipped and logged."""
        ...


@attrs.frozen
class Lease:
    """A space's consolidation lease: who holds it until when, and the ETag that proves
    the holder wrote the current version."""

    space_id: SpaceId
    holder: str
    expires_at: datetime
    etag: str


class LeaseRepository(Protocol):
    """One lease per space in ``{space}/_lease.json``, taken with conditional writes."""

    async def acquire(self, space_id: SpaceId, holder: str, until: datetime, now: datetime) -> Lease:
        """Take the lease (put-if-absent), or take over an expired one (put-if-match).

        Raises:
            Conflict: another holder's lease has not expired.
        """
        ...

    async def renew(self, lease: Lease, until: datetime) -> Lease:
        """Extend our lease. Raises ``Conflict`` if someone took it over."""
        ...

    async def release(self, lease: Lease) -> None:
        """Give the lease back if we still hold it."""
        ...

    async def current(self, space_id: SpaceId) -> tuple[str, datetime | None] | None:
        """Who holds the space's lease and until when (expired or not): ``(holder,
        expires_at)``, ``("unreadable", None)`` for a corrupt lease, None for none."""
        ...

    async def break_lease(self, space_id: SpaceId) -> tuple[str, datetime | None] | None:
        """Remove the space's lease whoever holds it, and say what it was (as
        :meth:`current`). Its holder's next ``renew`` raises ``Conflict`` and its
        ``release`` leaves the next holder's lease alone."""
        ...


class JobState(enum.StrEnum):
    """A consolidation job's life."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


@attrs.frozen
class JobRecord:
    """A consolidation job as stored in ``_system/jobs/{job_id}.json``.

    Attributes:
        report: what the run did (so far, while it runs; up to the failure when it failed).
        error: why it failed, fit for the caller.
        attempts: how many times a server started it (a restart resumes it).
        runner: the server that holds it (``host:pid``), set by its heartbeat.
    """

    job_id: str
    space_id: SpaceId
    requested_by: str
    agent_scope: str | None
    state: JobState
    created_at: datetime
    updated_at: datetime
    attempts: int = 0
    error: str | None = None
    report: ConsolidationReport | None = None
    runner: str | None = None


class JobRepository(Protocol):
    """Consolidation jobs, so that they and their status survive a restart."""

    async def put(self, job: JobRecord) -> None:
        """Create or replace a job record."""
        ...

    async def get(self, job_id: str) -> JobRecord:
        """Raises ``NotFound``."""
        ...

    async def unfinished(self, space_id: SpaceId | None = None) -> list[JobRecord]:
        """Jobs queued or running (of one space, or of all), oldest first. Costs what
        it returns, not what the store holds: unfinished jobs are indexed."""
        ...

    async def recent(self, space_id: SpaceId, limit: int) -> list[JobRecord]:
        """The space's newest ``limit`` job records, newest first (indexed by space and
        time: only those records are read)."""
        ...

    async def all(self) -> list[JobRecord]:
        """Every readable job record, oldest first (an unreadable one is skipped)."""
        ...

    async def prune(self, finished_before: datetime) -> int:
        """Delete the records of jobs that finished (succeeded or failed) before the
        given time; return how many."""
        ...
