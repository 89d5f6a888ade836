"""Hybrid ranking: the lexical (BM25) and dense (cosine) rankings fused into one.

A weighted combination of normalised scores (the "CombSUM" family: Fox and Shaw, "Combination
of multiple searches", TREC-2, 1994; min-max normalisation as in Lee, "Analyses of
multiple evidence combination", SIGIR 1997), over the union of both sides' candidates::

    score(d) = dense(d) + W_LEXICAL * lexical(d) + W_ALL_WORDS * [d holds every query word]

``dense(d)`` is the cosine of the query and ``d`` min-max normalised over the candidates
(0 for a document without a vector yet); ``lexical(d)`` is its BM25 score min-max
normalised over the lexical hits (0 when the lexical side did not return it). Every
candidate gets its real cosine, not only those in the dense side's top list, so a
lexical hit the dense side ranked 51st is not scored as if it were unrelated.

The weights were chosen on the development queries of ``ops/retrieval_queries.json``
(reworded questions) and on exact-word queries, by ``python -m ops.bench_retrieval
--tune``: the best recall@5, then MRR. Reciprocal rank fusion (k = 60, equal weights),
measured there too, ranked the dense side's best hits below lexical noise: a question
matches many documents on one common word each, and RRF gives their ranks the same weight
as the dense side's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Final

from application.search_ports import SearchDoc, SearchHit

__all__ = ["W_ALL_WORDS", "W_LEXICAL", "fuse"]

W_LEXICAL: Final = 0.1
"""The lexical side's weight against the dense side's 1."""
W_ALL_WORDS: Final = 1.0
"""What a document holding every word of the query gains: an exact-word query finds its
document first even when BM25's length normalisation or the dense side ranks it lower."""


def _normalised(scores: Mapping[str, float]) -> dict[str, float]:
    """Min-max to [0, 1]; all 1.0 when every score is the same."""
    if not scores:
        return {}
    low, high = min(scores.values()), max(scores.values())
    span = high - low
    return {d: (s - low) / span if span > 0 else 1.0 for d, s in scores.items()}


def fuse(
    lexical: Sequence[SearchHit],
    nearest: Sequence[SearchDoc],
    similarity: Mapping[str, float],
    limit: int,
    *,
    snippet_of: Mapping[str, str] | None = None,
) -> list[SearchHit]:
    """The best ``limit`` documents of both sides (module docstring), best first, ties by
    cosine, then BM25, then ``doc_id``; each hit's ``score`` is its fused score rounded to 6 places.

    Args:
        lexical: the lexical side's hits, best first (their ``score`` is BM25's).
        nearest: the dense side's documents, best first.
        similarity: the cosine of every candidate that has a vector, by ``doc_id``.
        limit: how many to return (0 or less: none).
        snippet_of: a snippet for documents the lexical side did not return (by
            ``doc_id``); otherwise their text is used as it is.
    """
    docs = {d.doc_id: d for d in nearest}
    docs.update({h.doc.doc_id: h.doc for h in lexical})
    lexical_score = _normalised({h.doc.doc_id: h.score for h in lexical})
    dense_score = _normalised({d: s for d, s in similarity.items() if d in docs})
    every = {h.doc.doc_id for h in lexical if h.all_words}
    snippets = {h.doc.doc_id: h.snippet for h in lexical}
    fused = {
        d: dense_score.get(d, 0.0)
        + W_LEXICAL * lexical_score.get(d, 0.0)
        + (W_ALL_WORDS if d in every else 0.0)
        for d in docs
    }
    raw_lexical = {h.doc.doc_id: h.score for h in lexical}
    # ties (normalisation can round two scores to one) by the raw scores, then by id
    best = sorted(fused, key=lambda d: (-fused[d], -similarity.get(d, -2.0), -raw_lexical.get(d, -1.0), d))[
        : max(limit, 0)
    ]
    return [
        SearchHit(
            docs[d],
            round(fused[d], 6),
            snippets.get(d) or (snippet_of or {}).get(d) or docs[d].text,
            all_words=d in every,
        )
        for d in best
    ]
