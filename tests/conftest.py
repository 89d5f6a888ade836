"""Session-wide fixtures: the two S3 test servers, started once and stopped at the end."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import structlog
from hypothesis import settings

from tests.s3_servers import S3Server, moto_server, seaweedfs_server

# Property tests judge behaviour, not speed: no per-example deadline, so a loaded CI
# machine cannot fail them (speed is measured by ops/bench.py).
settings.register_profile("live-mem", deadline=None)
settings.load_profile("live-mem")


@pytest.fixture(autouse=True)
def _fresh_logging() -> Iterator[None]:
    """Each test starts from structlog's defaults: a CLI test that configured logging
    (one-shot commands log warnings only) must not hide the events another test captures."""
    structlog.reset_defaults()
    yield
    structlog.reset_defaults()


@pytest.fixture(scope="session")
def moto() -> Iterator[S3Server]:
    """moto's S3 in server mode on 127.0.0.1 (a thread of the test process)."""
    with moto_server() as server:
        yield server


@pytest.fixture(scope="session")
def seaweedfs() -> Iterator[S3Server]:
    """A real S3 server (SeaweedFS) on 127.0.0.1, verifying signatures."""
    with seaweedfs_server() as server:
        yield server


_BACKENDS = ("memory", "filesystem", "moto", "seaweedfs")


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print how many contract tests ran on each backend, by outcome, so a run shows at a
    glance that every backend ran the whole suite and none was skipped."""
    counts: dict[str, dict[str, int]] = {b: {} for b in _BACKENDS}
    for outcome in ("passed", "failed", "skipped", "error"):
        for report in terminalreporter.stats.get(outcome, []):
            nodeid = getattr(report, "nodeid", "")
            if getattr(report, "when", "call") != "call" and outcome not in {"error", "skipped"}:
                continue
            for backend in _BACKENDS:
                if f"test_backend_{backend}.py" in nodeid:
                    counts[backend][outcome] = counts[backend].get(outcome, 0) + 1
    terminalreporter.section("contract suites per backend")
    for backend, by_outcome in counts.items():
        shown = ", ".join(f"{n} {o}" for o, n in sorted(by_outcome.items())) or "not run"
        terminalreporter.write_line(f"{backend:>11}: {shown}")
