"""Contract suites: one per port, written once, run unchanged against every adapter.

A backend's test module supplies one fixture, ``open_backend``: an async callable that
returns a fresh, empty :class:`contracts.backend.Backend` each time it is called, and
composes the suites by subclassing them (see ``tests/test_backend_*.py``).
"""

from contracts.backend import Backend, OpenBackend

__all__ = ["Backend", "OpenBackend"]
