"""The contract of every :class:`application.search_ports.SearchIndex`."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from application.search_ports import DocKind, SearchDoc, SearchFilter, SearchIndex
from domain import SpaceId

__all__ = ["SearchIndexContract"]

SPACE = SpaceId("proj")
OTHER = SpaceId("other")


def _note(n: int, text: str, agent: str = "alice", category: str = "decision", day: int = 1) -> SearchDoc:
    return SearchDoc(
        doc_id=f"note:{n:04d}",
        kind=DocKind.NOTE,
        ref=f"{n:016x}",
        text=text,
        agent=agent,
        category=category,
        timestamp=datetime(2026, 1, day, tzinfo=UTC),
    )


def _bank(n: int, text: str, group: str = "decisions.md") -> SearchDoc:
    return SearchDoc(
        doc_id=f"bank:{group}#{n}", kind=DocKind.BANK, ref=f"{group}#S{n}", text=text, group=group
    )


class SearchIndexContract:
    """Behaviour of every search index; a subclass provides the ``index`` fixture."""

    @pytest.fixture
    def index(self) -> SearchIndex:
        raise NotImplementedError

    def test_a_spaces_scores_do_not_depend_on_other_spaces(self, index: SearchIndex) -> None:
        """Ranking statistics (document count, lengths, term frequencies) come from the
        queried space only: another space gaining documents changes no score."""
        lunches = [_note(n, f"Lunch on day {n}.") for n in range(2, 12)]
        index.upsert(SPACE, [_note(1, "The billing service retries payments."), *lunches])
        before = [(h.doc.doc_id, h.score) for h in index.query(SPACE, "billing", SearchFilter(), 10)]
        index.upsert(OTHER, [_note(n, f"billing billing invoice {n} of a long text") for n in range(20, 80)])
        after = [(h.doc.doc_id, h.score) for h in index.query(SPACE, "billing", SearchFilter(), 10)]
        assert before == after
        assert before[0][0] == "note:0001"

    def test_ranks_by_relevance_and_breaks_ties_by_id(self, index: SearchIndex) -> None:
        index.upsert(
            SPACE,
            [
                _note(1, "We chose SQLite for the search index."),
                _note(2, "Lunch was good."),
                _note(3, "SQLite FTS5 ranks by BM25; SQLite is in the standard library."),
                _note(4, "We chose SQLite for the search index."),
            ],
        )
        hits = index.query(SPACE, "sqlite bm25", SearchFilter(), 10)
        assert [h.doc.doc_id for h in hits] == ["note:0003", "note:0001", "note:0004"]
        assert hits[0].score > hits[1].score == hits[2].score
        assert index.query(SPACE, "sqlite bm25", SearchFilter(), 1)[0].doc.doc_id == "note:0003"

    def test_identifiers_tickets_and_stems_are_found(self, index: SearchIndex) -> None:
        index.upsert(
            SPACE,
            [
                _note(1, "ClientSession reconnects after a timeout"),
                _note(2, "streamable_http drops the session id (#1808)"),
                _note(3, "The consolidation journal is written first"),
            ],
        )

        def first(text: str) -> str:
            return index.query(SPACE, text, SearchFilter(), 1)[0].doc.doc_id

        assert first("ClientSession") == "note:0001"
        assert first("client session") == "note:0001"
        assert first("streamable_http") == "note:0002"
        assert first("#1808") == "note:0002"
        assert first("consolidating journals") == "note:0003"

    def test_stop_words_match_nothing_and_every_word_is_flagged(self, index: SearchIndex) -> None:
        index.upsert(
            SPACE,
            [
                _note(1, "The journal is written before the bank"),
                _note(2, "How the lease is renewed"),
                _note(3, "Journal lease renewal"),
            ],
        )
        # "how", "is" and "the" are stop words: only "journal" and "lease" match
        hits = index.query(SPACE, "how is the journal lease", SearchFilter(), 10)
        assert {h.doc.doc_id: h.all_words for h in hits} == {
            "note:0001": False,
            "note:0002": False,
            "note:0003": True,
        }
        assert hits[0].doc.doc_id == "note:0003"
        # a query of nothing but stop words keeps them
        assert {h.doc.doc_id for h in index.query(SPACE, "how", SearchFilter(), 10)} == {"note:0002"}

    def test_snippets_mark_the_matched_terms(self, index: SearchIndex) -> None:
        index.upsert(SPACE, [_note(1, "Backups hold the consolidation lease while they copy.")])
        [hit] = index.query(SPACE, "lease", SearchFilter(), 5)
        assert "**lease**" in hit.snippet

    def test_filters_by_kind_category_agent_and_time(self, index: SearchIndex) -> None:
        index.upsert(
            SPACE,
            [
                _note(1, "retry the upload", agent="bob", category="todo", day=1),
                _note(2, "retry the upload later", agent="alice", category="todo", day=5),
                _note(3, "upload retry decided", agent="alice", category="decision", day=9),
                _bank(1, "Uploads: retry three times"),
            ],
        )

        def ids(where: SearchFilter) -> set[str]:
            return {h.doc.doc_id for h in index.query(SPACE, "retry upload", where, 10)}

        assert ids(SearchFilter()) == {"note:0001", "note:0002", "note:0003", "bank:decisions.md#1"}
        assert ids(SearchFilter(kinds=frozenset({DocKind.BANK}))) == {"bank:decisions.md#1"}
        assert ids(SearchFilter(category="todo")) == {"note:0001", "note:0002"}
        assert ids(SearchFilter(agent="alice")) == {"note:0002", "note:0003"}
        assert ids(SearchFilter(since=datetime(2026, 1, 5, tzinfo=UTC))) == {"note:0002", "note:0003"}

    def test_spaces_are_apart_and_delete_group_clear_count_work(self, index: SearchIndex) -> None:
        index.upsert(SPACE, [_note(1, "alpha beta"), _bank(1, "alpha"), _bank(2, "alpha", group="other.md")])
        index.upsert(OTHER, [_note(1, "alpha")])
        assert index.count(SPACE) == 3
        index.upsert(SPACE, [_note(1, "gamma only")])  # replaced, not added
        assert index.count(SPACE) == 3
        assert {h.doc.doc_id for h in index.query(SPACE, "alpha", SearchFilter(), 10)} == {
            "bank:decisions.md#1",
            "bank:other.md#2",
        }
        index.delete_group(SPACE, "decisions.md")
        index.delete(SPACE, ["note:0001", "missing"])
        assert [h.doc.doc_id for h in index.query(SPACE, "alpha", SearchFilter(), 10)] == ["bank:other.md#2"]
        index.clear(SPACE)
        assert index.count(SPACE) == 0
        assert [h.doc.doc_id for h in index.query(OTHER, "alpha", SearchFilter(), 10)] == ["note:0001"]

    @pytest.mark.parametrize("text", ["", "   ", "!!! ---", 'AND OR NOT "', "NEAR(a b)"])
    def test_text_without_words_or_with_operators_is_safe(self, index: SearchIndex, text: str) -> None:
        index.upsert(SPACE, [_note(1, "and or not near a b")])
        hits = index.query(SPACE, text, SearchFilter(), 5)
        assert all(h.doc.doc_id == "note:0001" for h in hits)
