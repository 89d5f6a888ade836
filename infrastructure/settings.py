"""Settings from the environment (and a ``.env`` file), validated once at start-up.

Every setting is documented in ``ops/.env.example``. With no ``S3_*`` settings the
server keeps its data in a local directory (``LIVE_MEM_DATA_DIR``, default ``./data``);
with no ``LLMAAS_*`` settings consolidation is extractive (no model).
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

import attrs
from dotenv import dotenv_values

from infrastructure.stores.s3_config import S3Config

__all__ = ["Settings", "SettingsError", "environment", "known_names", "load_settings", "unknown_variables"]

_TRUE: Final = {"1", "true", "yes", "on"}
_FALSE: Final = {"0", "false", "no", "off"}


class SettingsError(ValueError):
    """A setting is missing, malformed or unsafe; the message names it."""


def _int(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be an integer, got {raw!r}") from None
    if not low <= value <= high:
        raise SettingsError(f"{name} must be between {low} and {high}, got {value}")
    return value


_RATE_FAMILIES: Final = ("notes", "reads", "consolidate", "export", "admin")
_RATE_RE: Final = re.compile(r"\d+\s*/\s*(?:\d+\s*)?(?:second|minute|hour|day)s?")


def _rate_limits(env: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    found = []
    for family in _RATE_FAMILIES:
        name = f"RATE_LIMIT_{family.upper()}"
        value = env.get(name, "").strip()
        if not value:
            continue
        if not _RATE_RE.fullmatch(value):
            raise SettingsError(f"{name} must look like 600/minute or 10/second (got {value[:40]!r})")
        found.append((family, value))
    return tuple(found)


def _float(env: Mapping[str, str], name: str, default: float, low: float, high: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a number, got {raw!r}") from None
    if not low <= value <= high:
        raise SettingsError(f"{name} must be between {low} and {high}, got {value}")
    return value


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise SettingsError(f"{name} must be true or false, got {raw!r}")


def _embeddings(env: Mapping[str, str]) -> str:
    """``EMBEDDINGS``: "" (decided by ``EMBEDDINGS_API_URL``), ``off``, ``local`` or ``api``
    (which then needs the endpoint: :meth:`Settings.from_mapping` checks it)."""
    value = env.get("EMBEDDINGS", "").strip().lower()
    if value not in ("", "off", "local", "api"):
        raise SettingsError(f"EMBEDDINGS must be off, local or api, got {value[:40]!r}")
    return value


def _list(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in env.get(name, "").split(",") if part.strip())


@attrs.frozen
class Settings:
    """Everything the composition root needs, parsed from ``KEY=value`` strings.

    Attributes:
        s3: bucket settings, or None for the local directory store.
        data_dir: the local store's directory (used when ``s3`` is None).
        port: HTTP port of ``live-mem serve`` (``MCP_SERVER_PORT``).
    """

    s3: S3Config | None = None
    data_dir: Path = Path("data")
    port: int = 8080
    host: str = "127.0.0.1"
    public_url: str | None = None
    allowed_hosts: tuple[str, ...] = ()
    allowed_origins: tuple[str, ...] = ()
    admin_bootstrap_key: str | None = attrs.field(default=None, repr=False)
    local_token: str | None = attrs.field(default=None, repr=False)
    backup_retention: int = 10
    max_body_bytes: int = 1024 * 1024
    llm_api_url: str | None = None
    llm_model: str | None = None
    llm_api_key: str | None = attrs.field(default=None, repr=False)
    llm_max_tokens: int = 4096
    llm_temperature: float = 0.2
    llm_context_tokens: int = 32768
    consolidation_timeout: float = 600
    consolidation_max_notes: int = 2000
    bank_budget_tokens: int = 8000
    note_relist_seconds: float = 60
    health_timeout: float = 3.0
    job_retention_days: int = 7
    audit_retention_days: int = 90
    journal_retention_days: int = 90
    feed_poll_seconds: float = 1.0
    sessions_per_token: int = 32
    session_idle_seconds: int = 600
    sse_max_sessions: int = 256
    export_max_concurrent: int = 2
    export_max_pending: int = 16
    export_link_seconds: int = 300
    export_max_bytes: int = 50 * 1024 * 1024
    export_spool_max_bytes: int = 256 * 1024 * 1024
    rate_limits: tuple[tuple[str, str], ...] = ()
    embeddings: str = ""
    embeddings_threads: int = 1
    embeddings_api_url: str | None = None
    embeddings_model: str | None = None
    embeddings_api_key: str | None = attrs.field(default=None, repr=False)
    hypercorn_config: str | None = None

    @property
    def base_url(self) -> str:
        """The URL clients use: ``LIVE_MEM_PUBLIC_URL`` or ``http://{host}:{port}``."""
        if self.public_url:
            return self.public_url.rstrip("/")
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::") else self.host  # noqa: S104
        return f"http://{host}:{self.port}"

    @property
    def embeddings_configured(self) -> bool:
        """True when ``EMBEDDINGS_API_URL`` and ``EMBEDDINGS_MODEL`` are set (hybrid search
        through an OpenAI-compatible endpoint)."""
        return bool(self.embeddings_api_url and self.embeddings_model)

    @property
    def embeddings_mode(self) -> str:
        """Where vectors come from: ``local`` (``EMBEDDINGS=local``: all-MiniLM-L6-v2 in
        process, the ``embed`` extra), ``api`` (``EMBEDDINGS_API_URL`` and
        ``EMBEDDINGS_MODEL`` set, or ``EMBEDDINGS=api``) or ``off`` (lexical search)."""
        if self.embeddings:
            return self.embeddings
        return "api" if self.embeddings_configured else "off"

    @property
    def llm_configured(self) -> bool:
        """True when ``LLMAAS_API_URL`` and ``LLMAAS_MODEL`` are set (abstractive mode)."""
        return bool(self.llm_api_url and self.llm_model)

    @classmethod
    def from_mapping(cls, env: Mapping[str, str]) -> Settings:
        """Parse settings from a mapping of environment variables.

        Raises:
            SettingsError: naming the first setting that is wrong.
        """
        d = cls()  # the defaults, written once: in the fields above
        s3: S3Config | None = None
        bucket = env.get("S3_BUCKET_NAME", "").strip()
        if bucket or env.get("S3_ENDPOINT_URL", "").strip():
            missing = [
                n for n in ("S3_BUCKET_NAME", "S3_ACCESS_KEY_ID", "S3_SECRET_ACCESS_KEY") if not env.get(n)
            ]
            if missing:
                raise SettingsError(f"S3 is configured but {', '.join(missing)} is not set")
            mode = env.get("S3_SIGNATURE_MODE", "hybrid").strip().lower() or "hybrid"
            if mode not in ("hybrid", "sigv4"):
                raise SettingsError(f"S3_SIGNATURE_MODE must be hybrid or sigv4, got {mode!r}")
            s3 = S3Config(
                bucket=bucket,
                access_key_id=env["S3_ACCESS_KEY_ID"],
                secret_access_key=env["S3_SECRET_ACCESS_KEY"],
                endpoint_url=env.get("S3_ENDPOINT_URL") or None,
                region=env.get("S3_REGION_NAME", "").strip() or "us-east-1",
                signature_mode="hybrid" if mode == "hybrid" else "sigv4",
                conditional_writes=_bool(env, "S3_CONDITIONAL_WRITES", default=True),
                max_attempts=_int(env, "S3_MAX_ATTEMPTS", 3, 1, 20),
                connect_timeout=_float(env, "S3_CONNECT_TIMEOUT", 3.0, 0.1, 120.0),
                read_timeout=_float(env, "S3_READ_TIMEOUT", 10.0, 0.1, 600.0),
                call_timeout=_float(env, "S3_CALL_TIMEOUT", 20.0, 0.5, 3600.0),
            )
        settings = cls(
            s3=s3,
            data_dir=Path(env.get("LIVE_MEM_DATA_DIR", "").strip() or "data"),
            port=_int(env, "MCP_SERVER_PORT", d.port, 1, 65535),
            host=env.get("LIVE_MEM_HOST", "").strip() or "127.0.0.1",
            public_url=env.get("LIVE_MEM_PUBLIC_URL", "").strip() or None,
            allowed_hosts=_list(env, "LIVE_MEM_ALLOWED_HOSTS"),
            allowed_origins=_list(env, "LIVE_MEM_ALLOWED_ORIGINS"),
            admin_bootstrap_key=env.get("ADMIN_BOOTSTRAP_KEY", "").strip() or None,
            local_token=env.get("LIVE_MEM_TOKEN", "").strip() or None,
            backup_retention=_int(env, "BACKUP_RETENTION_COUNT", d.backup_retention, 1, 1000),
            max_body_bytes=_int(
                env, "LIVE_MEM_MAX_BODY_BYTES", d.max_body_bytes, 64 * 1024, 64 * 1024 * 1024
            ),
            embeddings=_embeddings(env),
            embeddings_threads=_int(env, "EMBEDDINGS_THREADS", d.embeddings_threads, 1, 64),
            embeddings_api_url=env.get("EMBEDDINGS_API_URL", "").strip() or None,
            embeddings_model=env.get("EMBEDDINGS_MODEL", "").strip() or None,
            embeddings_api_key=env.get("EMBEDDINGS_API_KEY", "").strip() or None,
            llm_api_url=env.get("LLMAAS_API_URL", "").strip() or None,
            llm_model=env.get("LLMAAS_MODEL", "").strip() or None,
            llm_api_key=env.get("LLMAAS_API_KEY", "").strip() or None,
            llm_max_tokens=_int(env, "LLMAAS_MAX_TOKENS", d.llm_max_tokens, 64, 1_000_000),
            llm_temperature=_float(env, "LLMAAS_TEMPERATURE", d.llm_temperature, 0.0, 2.0),
            llm_context_tokens=_int(env, "LLMAAS_CONTEXT_TOKENS", d.llm_context_tokens, 1024, 10_000_000),
            consolidation_timeout=_int(env, "CONSOLIDATION_TIMEOUT", int(d.consolidation_timeout), 5, 86_400),
            consolidation_max_notes=_int(
                env, "CONSOLIDATION_MAX_NOTES", d.consolidation_max_notes, 1, 1_000_000
            ),
            bank_budget_tokens=_int(env, "BANK_BUDGET_TOKENS", d.bank_budget_tokens, 500, 1_000_000),
            note_relist_seconds=_int(env, "NOTE_RELIST_SECONDS", int(d.note_relist_seconds), 1, 86_400),
            health_timeout=_float(env, "HEALTH_TIMEOUT_SECONDS", d.health_timeout, 0.1, 60.0),
            job_retention_days=_int(env, "JOB_RETENTION_DAYS", d.job_retention_days, 1, 3650),
            audit_retention_days=_int(env, "AUDIT_RETENTION_DAYS", d.audit_retention_days, 1, 3650),
            journal_retention_days=_int(env, "JOURNAL_RETENTION_DAYS", d.journal_retention_days, 1, 36_500),
            feed_poll_seconds=_float(env, "FEED_POLL_SECONDS", d.feed_poll_seconds, 0.2, 60.0),
            sessions_per_token=_int(env, "SESSIONS_PER_TOKEN", d.sessions_per_token, 1, 10_000),
            session_idle_seconds=_int(env, "SESSION_IDLE_SECONDS", d.session_idle_seconds, 10, 86_400),
            sse_max_sessions=_int(env, "SSE_MAX_SESSIONS", d.sse_max_sessions, 1, 100_000),
            export_max_concurrent=_int(env, "EXPORT_MAX_CONCURRENT", d.export_max_concurrent, 1, 64),
            export_max_pending=_int(env, "EXPORT_MAX_PENDING", d.export_max_pending, 1, 1000),
            export_link_seconds=_int(env, "EXPORT_LINK_SECONDS", d.export_link_seconds, 10, 86_400),
            export_max_bytes=_int(env, "EXPORT_MAX_BYTES", d.export_max_bytes, 1024, 16 * 1024**3),
            export_spool_max_bytes=_int(
                env, "EXPORT_SPOOL_MAX_BYTES", d.export_spool_max_bytes, 1024, 64 * 1024**3
            ),
            rate_limits=_rate_limits(env),
            hypercorn_config=env.get("HYPERCORN_CONFIG", "").strip() or None,
        )
        if settings.embeddings == "api" and not settings.embeddings_configured:
            raise SettingsError("EMBEDDINGS=api needs EMBEDDINGS_API_URL and EMBEDDINGS_MODEL")
        return settings


_OUR_PREFIXES: Final = (
    "LIVE_MEM_",
    "S3_",
    "LLMAAS_",
    "EMBEDDINGS_",
    "EXPORT_",
    "RATE_LIMIT_",
    "MCP_SERVER_",
    "CONSOLIDATION_",
    "JOURNAL_",
    "AUDIT_",
)
"""Prefixes of live-mem's settings: a variable with one of them that no setting reads is
most likely misspelt, and is named in a warning."""


class _Recording(dict[str, str]):
    """A mapping that remembers the names read from it."""

    def __init__(self, values: Mapping[str, str]) -> None:
        super().__init__(values)
        self.read: set[str] = set()

    def get(self, key: str, default: Any = None) -> Any:
        self.read.add(key)
        return super().get(key, default)

    def __getitem__(self, key: str) -> str:
        self.read.add(key)
        return super().__getitem__(key)

    def __contains__(self, key: object) -> bool:
        if isinstance(key, str):
            self.read.add(key)
        return super().__contains__(key)


@functools.cache
def known_names() -> frozenset[str]:
    """Every variable a setting reads (with and without S3), found by reading them."""
    names: set[str] = set()
    for env in ({}, {"S3_BUCKET_NAME": "b", "S3_ACCESS_KEY_ID": "a", "S3_SECRET_ACCESS_KEY": "s"}):
        recording = _Recording(env)
        Settings.from_mapping(recording)
        names |= recording.read
    return frozenset(names)


def unknown_variables(env: Mapping[str, str]) -> list[str]:
    """The variables of ``env`` that look like live-mem's (their prefix, or ``PORT``)
    but that no setting reads, sorted: each one is most likely misspelt."""
    known = known_names()
    return sorted(
        name for name in env if name not in known and (name.startswith(_OUR_PREFIXES) or name == "PORT")
    )


def environment(env_file: Path | None = Path(".env")) -> dict[str, str]:
    """``os.environ`` over the values of ``env_file`` (if it exists): a variable set in
    the environment wins over the same one in the file."""
    merged: dict[str, str] = {}
    if env_file is not None and env_file.is_file():
        merged.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
    merged.update(os.environ)
    return merged


def load_settings(env_file: Path | None = Path(".env")) -> Settings:
    """Settings from :func:`environment`."""
    return Settings.from_mapping(environment(env_file))
