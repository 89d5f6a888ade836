"""The TF-IDF topic extractor passes the topic extractor contract."""

from __future__ import annotations

import pytest

from application.consolidation.ports import TopicExtractor
from contracts.topics import TopicExtractorContract
from infrastructure.topics import TfidfTopics


class TestTfidfTopics(TopicExtractorContract):
    @pytest.fixture
    def extractor(self) -> TopicExtractor:
        return TfidfTopics()
