"""Consolidation: the use case, its planners, jobs and ports."""

from application.consolidation.jobs import ConsolidationJobs
from application.consolidation.lock import SpaceLock
from application.consolidation.planners import AbstractivePlanner, ExtractivePlanner, Planner
from application.consolidation.ports import (
    InvalidModelOutput,
    JobRecord,
    JobRepository,
    JobState,
    JournalRepository,
    LanguageModel,
    Lease,
    LeaseRepository,
    ModelAnswer,
    ModelError,
    ModelTimeout,
    ModelUnavailable,
)
from application.consolidation.service import ConsolidationFailed, ConsolidationReport, ConsolidationService

__all__ = [
    "AbstractivePlanner",
    "ConsolidationFailed",
    "ConsolidationJobs",
    "ConsolidationReport",
    "ConsolidationService",
    "ExtractivePlanner",
    "InvalidModelOutput",
    "JobRecord",
    "JobRepository",
    "JobState",
    "JournalRepository",
    "LanguageModel",
    "Lease",
    "LeaseRepository",
    "ModelAnswer",
    "ModelError",
    "ModelTimeout",
    "ModelUnavailable",
    "Planner",
    "SpaceLock",
]
