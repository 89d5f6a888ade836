"""The contracts of every :class:`application.search_ports.VectorIndex` and
:class:`application.search_ports.VectorRepository`."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from application.search_ports import DocKind, SearchDoc, SearchFilter, VectorIndex, VectorRepository
from domain import SpaceId

__all__ = ["VectorIndexContract", "VectorRepositoryContract"]

SPACE = SpaceId("proj")


def _doc(n: int, kind: DocKind = DocKind.NOTE, group: str = "", agent: str = "alice") -> SearchDoc:
    stamp = datetime(2026, 1, n, tzinfo=UTC) if kind is not DocKind.BANK else None
    return SearchDoc(f"d{n}", kind, f"r{n}", f"text {n}", agent=agent, timestamp=stamp, group=group)


class VectorIndexContract:
    """Behaviour of every vector index; a subclass provides ``vectors``."""

    @pytest.fixture
    def vectors(self) -> VectorIndex:
        raise NotImplementedError

    def test_nearest_first_ties_by_id_and_filters(self, vectors: VectorIndex) -> None:
        vectors.upsert(SPACE, _doc(1), [1.0, 0.0])
        vectors.upsert(SPACE, _doc(2, agent="bob"), [0.7, 0.7])
        vectors.upsert(SPACE, _doc(3), [2.0, 0.0])  # same direction as d1: a tie
        vectors.upsert(SPACE, _doc(4, DocKind.BANK, group="f.md"), [0.0, 1.0])
        found = vectors.query(SPACE, [1.0, 0.1], SearchFilter(), 10)
        assert [d.doc_id for d, _ in found] == ["d1", "d3", "d2", "d4"]
        assert found[0][1] == found[1][1] > found[2][1]
        assert [d.doc_id for d, _ in vectors.query(SPACE, [0.0, 1.0], SearchFilter(agent="bob"), 5)] == ["d2"]
        bank = SearchFilter(kinds=frozenset({DocKind.BANK}))
        assert [d.doc_id for d, _ in vectors.query(SPACE, [1.0, 0.0], bank, 5)] == ["d4"]
        since = SearchFilter(since=datetime(2026, 1, 2, tzinfo=UTC))
        assert {d.doc_id for d, _ in vectors.query(SPACE, [1.0, 0.0], since, 5)} == {"d2", "d3"}

    def test_limit_cuts_after_ties_are_ordered_by_id(self, vectors: VectorIndex) -> None:
        vectors.upsert(SPACE, _doc(3), [1.0, 0.0])
        vectors.upsert(SPACE, _doc(1), [2.0, 0.0])  # the same direction: tied with d3
        vectors.upsert(SPACE, _doc(2), [0.0, 1.0])
        assert [d.doc_id for d, _ in vectors.query(SPACE, [1.0, 0.0], SearchFilter(), 1)] == ["d1"]
        assert vectors.query(SPACE, [1.0, 0.0], SearchFilter(), 0) == []
        assert vectors.query(SPACE, [1.0, 0.0, 0.0], SearchFilter(), 5) == []  # another model's query

    def test_similarities_count_and_changes_after_a_query(self, vectors: VectorIndex) -> None:
        vectors.upsert(SPACE, _doc(1), [1.0, 0.0])
        vectors.upsert(SPACE, _doc(2), [0.0, 3.0])
        assert vectors.count(SPACE) == 2
        assert vectors.count(SpaceId("other")) == 0
        assert vectors.similarities(SPACE, [2.0, 0.0], ["d1", "d2", "missing"]) == {"d1": 1.0, "d2": 0.0}
        vectors.query(SPACE, [1.0, 0.0], SearchFilter(), 5)
        vectors.upsert(SPACE, _doc(2), [1.0, 0.0])  # replaced after a query: the next one sees it
        vectors.delete(SPACE, ["d1"])
        assert [(d.doc_id, score) for d, score in vectors.query(SPACE, [1.0, 0.0], SearchFilter(), 5)] == [
            ("d2", 1.0)
        ]
        assert vectors.count(SPACE) == 1
        vectors.clear(SPACE)
        assert vectors.count(SPACE) == 0
        assert vectors.query(SPACE, [1.0, 0.0], SearchFilter(), 5) == []

    def test_delete_group_and_spaces_apart(self, vectors: VectorIndex) -> None:
        vectors.upsert(SPACE, _doc(1), [1.0, 0.0])
        vectors.upsert(SPACE, _doc(4, DocKind.BANK, group="f.md"), [0.0, 1.0])
        vectors.upsert(SpaceId("other"), _doc(1), [1.0, 0.0])
        vectors.delete_group(SPACE, "f.md")
        vectors.delete(SPACE, ["d1", "missing"])
        assert vectors.query(SPACE, [1.0, 0.0], SearchFilter(), 5) == []
        assert len(vectors.query(SpaceId("other"), [1.0, 0.0], SearchFilter(), 5)) == 1


class VectorRepositoryContract:
    """Behaviour of every vector repository; a subclass provides ``repository``."""

    @pytest.fixture
    def repository(self) -> VectorRepository:
        raise NotImplementedError

    async def test_round_trip_by_model_and_hash(self, repository: VectorRepository) -> None:
        await repository.put("model-a", "h1", [0.5, -1.25, 3.0])
        assert await repository.get_many("model-a", ["h1", "h2"]) == {"h1": [0.5, -1.25, 3.0]}
        assert await repository.get_many("model-b", ["h1"]) == {}
