"""Use-case services: each use case implemented once, authorization decided here."""

from application.services.auth import AuthService, IssuedToken
from application.services.backups import BackupService
from application.services.bank import BankService
from application.services.downloads import Download, Downloads
from application.services.imports import ImportReport, ImportService
from application.services.notes import NotePage, NoteService
from application.services.registry import Services
from application.services.search import SearchResults, SearchService
from application.services.spaces import SpaceOverview, SpaceService
from application.services.system import Health, SystemService

__all__ = [
    "AuthService",
    "BackupService",
    "BankService",
    "Download",
    "Downloads",
    "Health",
    "ImportReport",
    "ImportService",
    "IssuedToken",
    "NotePage",
    "NoteService",
    "SpaceOverview",
    "SearchResults",
    "SearchService",
    "Services",
    "SpaceService",
    "SystemService",
]
