"""The topic map's keyword extractor on scikit-learn's TF-IDF (``TfidfVectorizer``).

Terms are single words or two-word phrases over a token pattern that keeps code
identifiers whole (``ClientSession``, ``streamable_http``, ``v2``), lower-cased, without
scikit-learn's English stop words, present in at least ``min_notes`` texts and at most
``max_share`` of them (a word in every note says nothing about any). Terms are ranked by
their summed sublinear TF-IDF weight (Salton & Buckley, "Term-weighting approaches in
automatic text retrieval", 1988), ties broken alphabetically, so the result is
deterministic. scikit-learn is imported on first use, so a server that never
consolidates in extractive mode never loads it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

__all__ = ["TfidfTopics"]

_WORD_PATTERN: Final = r"(?u)\b[A-Za-z_][A-Za-z0-9_]*[A-Za-z0-9]\b"


class TfidfTopics:
    """:class:`application.consolidation.ports.TopicExtractor` on TF-IDF.

    Args:
        min_notes: a term must occur in at least this many texts (fewer texts: 1).
        max_share: and in at most this share of them.
    """

    def __init__(self, *, min_notes: int = 3, max_share: float = 0.1) -> None:
        self._min_notes = min_notes
        self._max_share = max_share

    def topics(self, texts: Sequence[str], limit: int) -> list[tuple[str, list[int]]]:
        """See the port. Raises nothing for texts with no usable term: returns []."""
        if not texts or limit <= 0:
            return []
        from sklearn.feature_extraction.text import TfidfVectorizer  # noqa: PLC0415 - heavy, used rarely

        small = len(texts) < 4 * self._min_notes
        vectorizer = TfidfVectorizer(
            token_pattern=_WORD_PATTERN,
            lowercase=True,
            stop_words="english",
            ngram_range=(1, 2),
            min_df=1 if small else self._min_notes,
            max_df=1.0 if small else self._max_share,
            sublinear_tf=True,
        )
        try:
            matrix = vectorizer.fit_transform(texts)
        except ValueError:  # every word is a stop word, or too rare/common
            return []
        weights = matrix.sum(axis=0).A1
        terms = vectorizer.get_feature_names_out()
        order = sorted(range(len(terms)), key=lambda i: (-float(weights[i]), str(terms[i])))[:limit]
        columns = matrix.tocsc()
        return [(str(terms[i]), sorted(int(r) for r in columns[:, i].nonzero()[0])) for i in order]
