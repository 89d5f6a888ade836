"""The hybrid ranking (application/services/fusion.py): each side alone keeps its order,
a document first on both sides is first, an exact-word match is lifted, and the result is
a ranking (no duplicates, best first, at most ``limit``)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from application.search_ports import DocKind, SearchDoc, SearchHit
from application.services.fusion import W_ALL_WORDS, W_LEXICAL, fuse


def _doc(n: int) -> SearchDoc:
    return SearchDoc(f"d{n:03}", DocKind.NOTE, f"r{n}", f"text {n}")


def _lexical(scores: list[float], every: frozenset[int] = frozenset()) -> list[SearchHit]:
    hits = [SearchHit(_doc(i), s, f"snip {i}", all_words=i in every) for i, s in enumerate(scores)]
    return sorted(hits, key=lambda h: (-h.score, h.doc.doc_id))


scores = st.lists(st.floats(0.0, 30.0, allow_nan=False), min_size=1, max_size=30)
cosines = st.lists(st.floats(-1.0, 1.0, allow_nan=False), min_size=1, max_size=30)


@given(scores, st.integers(1, 40))
def test_lexical_alone_keeps_its_order(bm25: list[float], limit: int) -> None:
    lexical = _lexical(bm25)
    fused = fuse(lexical, [], {}, limit)
    assert [h.doc.doc_id for h in fused] == [h.doc.doc_id for h in lexical][:limit]
    assert [h.snippet for h in fused] == [h.snippet for h in lexical][:limit]


@given(cosines, st.integers(1, 40))
def test_dense_alone_keeps_its_order(cosine: list[float], limit: int) -> None:
    nearest = sorted((_doc(i) for i in range(len(cosine))), key=lambda d: (-cosine[int(d.ref[1:])], d.doc_id))
    similarity = {d.doc_id: cosine[int(d.ref[1:])] for d in nearest}
    fused = fuse([], nearest, similarity, limit)
    assert [h.doc.doc_id for h in fused] == [d.doc_id for d in nearest][:limit]


@given(scores, cosines, st.integers(1, 40))
def test_the_result_is_a_ranking(bm25: list[float], cosine: list[float], limit: int) -> None:
    lexical = _lexical(bm25, frozenset({0}))
    nearest = [_doc(100 + i) for i in range(len(cosine))]
    similarity = {d.doc_id: c for d, c in zip(nearest, cosine, strict=True)}
    fused = fuse(lexical, nearest, similarity, limit)
    ids = [h.doc.doc_id for h in fused]
    assert len(ids) == len(set(ids)) == min(limit, len(bm25) + len(cosine))
    assert [h.score for h in fused] == sorted((h.score for h in fused), reverse=True)
    assert all(0.0 <= h.score <= 1.0 + W_LEXICAL + W_ALL_WORDS for h in fused)


@given(scores, cosines)
def test_a_document_first_on_both_sides_is_first(bm25: list[float], cosine: list[float]) -> None:
    top = _doc(0)
    lexical = _lexical([max(bm25) + 1.0, *bm25])  # d000 is the lexical side's best
    nearest = [_doc(i) for i in range(len(cosine) + 1)]
    similarity = {d.doc_id: c for d, c in zip(nearest[1:], cosine, strict=True)}
    similarity[top.doc_id] = 1.0 + 1e-6  # and the dense side's
    assert fuse(lexical, nearest, similarity, 1)[0].doc.doc_id == top.doc_id


def test_an_exact_word_match_the_dense_side_ranks_low_is_lifted() -> None:
    """The exact-word failure measured on the dataset: a long note holding every query
    word was 4th lexically and far down the dense side."""
    lexical = _lexical([9.0, 8.0, 7.0, 6.0], every=frozenset({3}))
    nearest = [_doc(10), _doc(11), _doc(12), _doc(3)]
    similarity = {"d010": 0.9, "d011": 0.85, "d012": 0.8, "d003": 0.35, "d000": 0.3, "d001": 0.3, "d002": 0.3}
    fused = fuse(lexical, nearest, similarity, 5)
    assert fused[0].doc.doc_id == "d003"
    assert fused[0].all_words


def test_a_reworded_question_keeps_the_dense_sides_best_above_lexical_noise() -> None:
    """A question shares one common word with many documents: the lexical side's order is
    noise, and the dense side's best must stay first (RRF put it below them)."""
    lexical = _lexical([3.0, 2.9, 2.8, 2.7, 2.6])
    nearest = [_doc(50), _doc(0), _doc(1)]
    similarity = {"d050": 0.62, "d000": 0.31, "d001": 0.30, "d002": 0.29, "d003": 0.28, "d004": 0.27}
    fused = fuse(lexical, nearest, similarity, 5)
    assert fused[0].doc.doc_id == "d050"
    assert fused[0].snippet == "text 50"  # no lexical snippet: its text
