"""The contract of every :class:`application.consolidation.ports.TopicExtractor`."""

from __future__ import annotations

import pytest

from application.consolidation.ports import TopicExtractor

__all__ = ["TopicExtractorContract"]

TEXTS = [
    "ClientSession reconnects over streamable_http after a timeout",
    "The ClientSession keeps its streamable_http transport open",
    "Docs: explain the OAuth flow for the ClientSession",
    "Fix the OAuth token refresh in the client",
    "The OAuth metadata endpoint now answers 404 for unknown issuers",
    "Release notes for version 2",
    "Unrelated: the logo is blue",
]


class TopicExtractorContract:
    """Behaviour of every topic extractor; a subclass provides the ``extractor`` fixture."""

    @pytest.fixture
    def extractor(self) -> TopicExtractor:
        raise NotImplementedError

    def test_terms_name_the_texts_that_contain_them(self, extractor: TopicExtractor) -> None:
        found = extractor.topics(TEXTS, 10)
        assert found
        for term, hits in found:
            assert hits == sorted(hits)
            assert all(all(w in TEXTS[i].lower() for w in term.lower().split()) for i in hits), term

    def test_identifiers_stay_whole_and_stop_words_are_left_out(self, extractor: TopicExtractor) -> None:
        terms = [t.lower() for t, _ in extractor.topics(TEXTS, 40)]
        assert "clientsession" in terms
        assert "streamable_http" in terms
        assert not {"the", "for", "a", "over"} & set(terms)

    def test_it_is_deterministic_and_bounded(self, extractor: TopicExtractor) -> None:
        assert extractor.topics(TEXTS, 5) == extractor.topics(list(TEXTS), 5)
        assert len(extractor.topics(TEXTS, 3)) <= 3
        assert extractor.topics([], 5) == []
        assert extractor.topics(["the a an of"], 5) == []
