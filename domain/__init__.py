"""live-mem's domain: entities, value objects, policies and errors. No I/O here."""

from domain.auth import ALL_SPACES, TOKEN_PREFIX, Identity, TokenRecord, check_bootstrap_key, hash_secret
from domain.errors import (
    AlreadyExists,
    AuthenticationFailed,
    Conflict,
    DomainError,
    InvalidInput,
    LimitExceeded,
    NotFound,
    PermissionDenied,
    PlanRejected,
    RateLimited,
)
from domain.model import BankFile, Note, SpaceMeta, SpaceRules, Synthesis, utc_stamp
from domain.values import AgentName, BankFileName, NoteCategory, Permission, SpaceId

__all__ = [
    "ALL_SPACES",
    "TOKEN_PREFIX",
    "AgentName",
    "AlreadyExists",
    "AuthenticationFailed",
    "BankFile",
    "BankFileName",
    "Conflict",
    "DomainError",
    "Identity",
    "InvalidInput",
    "LimitExceeded",
    "RateLimited",
    "Note",
    "NoteCategory",
    "NotFound",
    "Permission",
    "PermissionDenied",
    "PlanRejected",
    "SpaceId",
    "SpaceMeta",
    "SpaceRules",
    "utc_stamp",
    "Synthesis",
    "TokenRecord",
    "check_bootstrap_key",
    "hash_secret",
]
