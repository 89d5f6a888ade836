"""The search index on SQLite FTS5, from the standard library: an in-memory database per
space in each replica, so that ranking statistics (document count, average length,
document frequencies) come from the queried space alone; BM25 ranking by FTS5's
built-in ``bm25()`` (Okapi BM25, k1 = 1.2, b = 0.75;
https://www.sqlite.org/fts5.html#the_bm25_function), snippets by ``snippet()``.

Tokenisation is FTS5's ``porter unicode61`` (Unicode words, case and diacritics folded,
English stemmed by the Porter stemmer), so ``consolidating`` finds ``consolidation`` and
``#123`` finds ``123``; ``streamable_http`` is the words ``streamable`` and ``http``.
A second column, weighted half, holds the parts of camel-case identifiers
(``ClientSession`` also as ``client session``), so a query in words finds the
identifier too, and the document's keywords (a note's tags and author).

A query matches documents holding any of its words (OR), English stop words left out
(the ``stopwords`` package's English list: 175 function words such as "how", "the",
"were"; a query of nothing but stop words keeps them), so that a question's function
words neither match every document nor dilute the ranking. Each hit also says whether
the document holds every one of the query's words (one more FTS5 query with AND).
"""

from __future__ import annotations

import functools
import re
import sqlite3
import threading
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Concatenate, Final, ParamSpec, TypeVar

from application.search_ports import DocKind, SearchDoc, SearchFilter, SearchHit
from domain import SpaceId

__all__ = ["SqliteSearchIndex"]

_SCHEMA: Final = """
CREATE TABLE meta(
    id INTEGER PRIMARY KEY, space TEXT NOT NULL, doc_id TEXT NOT NULL, kind TEXT NOT NULL,
    ref TEXT NOT NULL, agent TEXT NOT NULL, category TEXT NOT NULL, ts TEXT, grp TEXT NOT NULL,
    text TEXT NOT NULL, UNIQUE(space, doc_id));
CREATE INDEX meta_group ON meta(space, grp);
CREATE VIRTUAL TABLE fts USING fts5(body, parts, tokenize = 'porter unicode61 remove_diacritics 2');
"""
P = ParamSpec("P")
R = TypeVar("R")
_WORD: Final = re.compile(r"\w+", re.UNICODE)
_CAMEL: Final = re.compile(r"\b[A-Za-z]*[a-z][A-Z][A-Za-z0-9]*\b")
_CAMEL_PARTS: Final = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")
_MAX_QUERY_WORDS: Final = 32


@functools.cache
def _stop_words() -> frozenset[str]:
    import stopwords  # noqa: PLC0415 - a word list read from a file, once

    return frozenset(w.casefold() for w in stopwords.get_stopwords("english"))


def _parts(text: str) -> str:
    return " ".join(" ".join(_CAMEL_PARTS.findall(token)) for token in _CAMEL.findall(text))


def _stamp(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat() if value is not None else None


def query_words(text: str) -> list[str]:
    """The words ``text`` is matched on: lower-cased, each once, in order, English stop
    words left out unless nothing else is left; at most 32."""
    words = list(dict.fromkeys(w.lower() for w in _WORD.findall(text)))
    stop = _stop_words()
    return ([w for w in words if w not in stop] or words)[:_MAX_QUERY_WORDS]


def match_expression(words: Sequence[str], operator: str = "OR") -> str:
    """An FTS5 query for ``words`` (:func:`query_words`): each word quoted (so no word is
    taken for an operator), joined by ``operator`` (OR: any word; AND: every word); ""
    when there is no word."""
    return f" {operator} ".join(f'"{w}"' for w in words)


def _locked(
    method: Callable[Concatenate[SqliteSearchIndex, SpaceId, P], R],
) -> Callable[Concatenate[SqliteSearchIndex, SpaceId, P], R]:
    """Run ``method`` holding its space's lock (the service calls the index from worker
    threads, off the event loop; one SQLite connection serves one thread at a time)."""

    @functools.wraps(method)
    def run(self: SqliteSearchIndex, space_id: SpaceId, /, *args: P.args, **kwargs: P.kwargs) -> R:
        with self._lock(space_id):
            return method(self, space_id, *args, **kwargs)

    return run


class SqliteSearchIndex:
    """:class:`application.search_ports.SearchIndex` on SQLite FTS5 (module docstring)."""

    def __init__(self) -> None:
        self._spaces: dict[str, tuple[sqlite3.Connection, threading.Lock]] = {}
        self._guard = threading.Lock()

    def _space(self, space_id: SpaceId) -> tuple[sqlite3.Connection, threading.Lock]:
        """The space's database, created empty on first use, and its lock: the
        database is used from worker threads, one at a time."""
        with self._guard:
            found = self._spaces.get(space_id.value)
            if found is None:
                db = sqlite3.connect(":memory:", check_same_thread=False)
                db.executescript(_SCHEMA)
                found = self._spaces[space_id.value] = (db, threading.Lock())
            return found

    def _db(self, space_id: SpaceId) -> sqlite3.Connection:
        return self._space(space_id)[0]

    def _lock(self, space_id: SpaceId) -> threading.Lock:
        return self._space(space_id)[1]

    @_locked
    def upsert(self, space_id: SpaceId, docs: Sequence[SearchDoc]) -> None:
        """See the port (a later document replaces an earlier one with its id)."""
        unique = list({d.doc_id: d for d in docs}.values())
        db = self._db(space_id)
        with db:
            self._delete(db, space_id, [d.doc_id for d in unique])
            for doc in unique:
                cursor = db.execute(
                    "INSERT INTO meta(space, doc_id, kind, ref, agent, category, ts, grp, text)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        space_id.value,
                        doc.doc_id,
                        doc.kind.value,
                        doc.ref,
                        doc.agent,
                        doc.category,
                        _stamp(doc.timestamp),
                        doc.group,
                        doc.text,
                    ),
                )
                db.execute(
                    "INSERT INTO fts(rowid, body, parts) VALUES (?, ?, ?)",
                    (cursor.lastrowid, doc.text, f"{_parts(doc.text)} {doc.keywords}".strip()),
                )

    @staticmethod
    def _delete(db: sqlite3.Connection, space_id: SpaceId, doc_ids: Iterable[str]) -> None:
        for doc_id in doc_ids:
            row = db.execute(
                "SELECT id FROM meta WHERE space = ? AND doc_id = ?", (space_id.value, doc_id)
            ).fetchone()
            if row is not None:
                db.execute("DELETE FROM fts WHERE rowid = ?", row)
                db.execute("DELETE FROM meta WHERE id = ?", row)

    @_locked
    def delete(self, space_id: SpaceId, doc_ids: Sequence[str]) -> None:
        """See the port."""
        db = self._db(space_id)
        with db:
            self._delete(db, space_id, doc_ids)

    @_locked
    def delete_group(self, space_id: SpaceId, group: str) -> None:
        """See the port."""
        db = self._db(space_id)
        with db:
            rows = db.execute(
                "SELECT id FROM meta WHERE space = ? AND grp = ?", (space_id.value, group)
            ).fetchall()
            db.executemany("DELETE FROM fts WHERE rowid = ?", rows)
            db.executemany("DELETE FROM meta WHERE id = ?", rows)

    def clear(self, space_id: SpaceId) -> None:
        """See the port: the space's database is closed and dropped."""
        with self._guard:
            found = self._spaces.pop(space_id.value, None)
        if found is not None:
            db, lock = found
            with lock:
                db.close()

    def size_bytes(self) -> int:
        """The databases' size: pages times page size, every space together."""
        total = 0
        with self._guard:
            spaces = list(self._spaces.values())
        for db, lock in spaces:
            with lock:
                (pages,) = db.execute("PRAGMA page_count").fetchone()
                (page_size,) = db.execute("PRAGMA page_size").fetchone()
            total += int(pages) * int(page_size)
        return total

    @_locked
    def count(self, space_id: SpaceId) -> int:
        """See the port."""
        (found,) = (
            self._db(space_id)
            .execute("SELECT count(*) FROM meta WHERE space = ?", (space_id.value,))
            .fetchone()
        )
        return int(found)

    @_locked
    def query(self, space_id: SpaceId, text: str, where: SearchFilter, limit: int) -> list[SearchHit]:
        """See the port."""
        words = query_words(text)
        expression = match_expression(words)
        if not expression or limit <= 0:
            return []
        sql = [
            "SELECT m.doc_id, m.kind, m.ref, m.text, m.agent, m.category, m.ts, m.grp,",
            " bm25(fts, 1.0, 0.5) AS rank, snippet(fts, 0, '**', '**', '…', 24),",
            " fts.rowid IN (SELECT rowid FROM fts WHERE fts MATCH ?) AS every",
            " FROM fts JOIN meta m ON m.id = fts.rowid WHERE fts MATCH ? AND m.space = ?",
        ]
        args: list[object] = [match_expression(words, "AND"), expression, space_id.value]
        if where.kinds:
            kinds = sorted(k.value for k in where.kinds)
            sql.append(f" AND m.kind IN ({', '.join('?' * len(kinds))})")
            args.extend(kinds)
        for column, value in (("category", where.category), ("agent", where.agent)):
            if value:
                sql.append(f" AND m.{column} = ?")
                args.append(value)
        if where.since is not None:
            sql.append(" AND m.ts >= ?")
            args.append(_stamp(where.since))
        sql.append(" ORDER BY rank, m.doc_id LIMIT ?")
        args.append(limit)
        hits = []
        db = self._db(space_id)
        for doc_id, kind, ref, body, agent, category, ts, group, rank, snippet, every in db.execute(
            "".join(sql), args
        ):
            doc = SearchDoc(
                doc_id=doc_id,
                kind=DocKind(kind),
                ref=ref,
                text=body,
                agent=agent,
                category=category,
                timestamp=datetime.fromisoformat(ts) if ts else None,
                group=group,
            )
            hits.append(SearchHit(doc, round(-float(rank), 6), snippet, all_words=bool(every)))
        return hits
