"""How every edge of live-mem (MCP tools and resources, the web API, the download
links, the session bounds) tells a caller that something was refused or failed: one
mapping from exceptions to a kind and a text, and one body. Kinds are stable and meant
for code; texts are for people and never to be parsed (a retry delay is carried as
data: ``RateLimited.retry_after``)."""

from __future__ import annotations

from application.store import CorruptObject, StoreAccessDenied, StoreError, StoreUnavailable
from domain import DomainError

__all__ = ["error_body", "kind_and_message", "message_of"]


def kind_and_message(exc: Exception) -> tuple[str, str]:
    """The kind and text a caller sees for an error (MCP tools and the web API alike):
    domain messages as they are, store failures without internals, anything else as an
    opaque reference."""
    if isinstance(exc, DomainError):
        return type(exc).__name__, str(exc)
    if isinstance(exc, CorruptObject):
        return "CorruptObject", str(exc)  # names the object, which the caller may see
    if isinstance(exc, StoreUnavailable | StoreAccessDenied):
        return "StoreUnavailable", "the object store is unavailable; try again later"
    if isinstance(exc, StoreError):
        return "StoreError", "the object store refused the operation"
    return "InternalError", "unexpected server error"


def message_of(exc: Exception) -> str:
    """``Kind: message`` (resource errors, which are JSON-RPC errors)."""
    kind, message = kind_and_message(exc)
    return f"{kind}: {message}"


def error_body(kind: str, message: str) -> dict[str, str]:
    """``{"status": "error", "error": kind, "message": message}``: every refusal's shape."""
    return {"status": "error", "error": kind, "message": message}
