"""Prometheus metrics of one app instance (its own registry, so several apps can live
in one process, as in tests)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from application.consolidation import JobRecord

__all__ = ["CONTENT_TYPE_LATEST", "Metrics"]


class Metrics:
    """Tool calls by tool and outcome, their latency in seconds, and finished
    consolidation jobs by outcome."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self._calls = Counter(
            "livemem_tool_calls", "MCP tool calls", ["tool", "outcome"], registry=self.registry
        )
        self._latency = Histogram(
            "livemem_tool_seconds",
            "MCP tool call latency",
            ["tool"],
            registry=self.registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )
        self._jobs = Counter(
            "livemem_consolidation_jobs", "Finished consolidation jobs", ["outcome"], registry=self.registry
        )

    def observe_job(self, job: JobRecord) -> None:
        """Count one finished consolidation job by its outcome (succeeded, failed)."""
        self._jobs.labels(outcome=job.state.value).inc()

    def observe_tool(self, tool: str, outcome: str, seconds: float) -> None:
        """Count one call and record its latency."""
        self._calls.labels(tool=tool, outcome=outcome).inc()
        self._latency.labels(tool=tool).observe(seconds)

    def render(self) -> bytes:
        """The text exposition format (Prometheus ``/metrics``)."""
        return generate_latest(self.registry)
