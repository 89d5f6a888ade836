"""The SQLite FTS5 index passes the search index contract."""

from __future__ import annotations

import pytest

from application.search_ports import SearchIndex
from contracts.search import SearchIndexContract
from infrastructure.search_sqlite import SqliteSearchIndex


class TestSqliteSearchIndex(SearchIndexContract):
    @pytest.fixture
    def index(self) -> SearchIndex:
        return SqliteSearchIndex()
