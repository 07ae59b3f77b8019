"""What retrieval needs per passage beside its vector, in SQLite, written at ingestion in the
same step as the vectors: the analysed text for keyword search (FTS5, ranked by `bm25()`) and
the vectors of the passage's sentences (for the best-sentence score).

Analysed text: accents folded, stop words out, Snowball stems in the chunk's language
(rag.text.analyse), so FTS5 ranks today's French analysis. Sentence vectors: a float16 matrix
per passage, read by id. SQLite in WAL mode serves many reading processes beside one writer,
and a write is visible to every process as soon as it commits: nothing is rebuilt, polled or
embedded while a user waits. Chroma stays the source of truth: the ingestor reconciles by id
at start-up and after an interrupted ingestion.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from rag.filters import Filters
from rag.schema import Chunk, published_day
from rag.sqlite import PerThread
from rag.text import analyse

# How long the outlets named in questions are cached (a DISTINCT over every passage)
OUTLETS_TTL = 30.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS chunks (
    row INTEGER PRIMARY KEY,
    chunk_id TEXT NOT NULL UNIQUE,
    doc_id TEXT NOT NULL,
    tokens TEXT NOT NULL,
    sentences BLOB,
    published_day INTEGER,
    outlet TEXT,
    language TEXT
);
CREATE INDEX IF NOT EXISTS chunks_doc ON chunks(doc_id);
CREATE VIRTUAL TABLE IF NOT EXISTS chunks_fts USING fts5(
    tokens, content='chunks', content_rowid='row', tokenize='unicode61 remove_diacritics 0'
);
CREATE TRIGGER IF NOT EXISTS chunks_ai AFTER INSERT ON chunks BEGIN
    INSERT INTO chunks_fts(rowid, tokens) VALUES (new.row, new.tokens);
END;
CREATE TRIGGER IF NOT EXISTS chunks_ad AFTER DELETE ON chunks BEGIN
    INSERT INTO chunks_fts(chunks_fts, rowid, tokens) VALUES ('delete', old.row, old.tokens);
END;
"""


def chunk_tokens(chunk: Chunk) -> str:
    return " ".join(analyse(f"{chunk.title}\n{chunk.text}", chunk.language))


class PassageIndex:
    """One table per Chroma collection (`name`), in the SQLite file at `path`."""

    def __init__(self, path: Path, name: str) -> None:
        self.path = path
        self.name = name
        self._conn = PerThread(self.path)
        prefix = "kw_" + "".join(c if c.isalnum() else "_" for c in name)
        self._sql = _SCHEMA.replace("chunks", prefix)
        self._t = prefix
        self._outlets: tuple[float, tuple[str, ...]] | None = None
        self._conn().executescript(self._sql)
        self._add_filter_columns()

    def _add_filter_columns(self) -> None:
        """Tables written before search filters lack their columns: added empty (filled by
        the ingestor's reconciliation, `without_filter_columns`)."""
        conn = self._conn()
        have = {r[1] for r in conn.execute(f"PRAGMA table_info({self._t})")}
        for column, kind in (
            ("published_day", "INTEGER"),
            ("outlet", "TEXT"),
            ("language", "TEXT"),
        ):
            if column not in have:
                conn.execute(f"ALTER TABLE {self._t} ADD COLUMN {column} {kind}")
        # The filter columns with the ids, in an index of their own: the passages that meet a
        # filter are found without reading a row (in a row, these columns come after the
        # sentence vectors, on overflow pages: 15-20 ms a filter at 10k passages, 0.01-1.3 ms
        # here; rag bench filtered_retrieval). Created after the columns: older tables get
        # them just above.
        conn.execute(
            f"CREATE INDEX IF NOT EXISTS {self._t}_filters "
            f"ON {self._t}(published_day, outlet, language, chunk_id)"
        )

    def outlets(self) -> tuple[str, ...]:
        """The outlets of the stored passages, read again at most every OUTLETS_TTL seconds
        (another process's ingestion shows within that time; this one's at once)."""
        now = time.monotonic()
        cached = self._outlets
        if cached is None or now - cached[0] > OUTLETS_TTL:
            rows = self._conn().execute(
                f"SELECT DISTINCT outlet FROM {self._t} WHERE outlet IS NOT NULL AND outlet != ''"
            )
            cached = self._outlets = (now, tuple(sorted(r[0] for r in rows)))
        return cached[1]

    def count(self) -> int:
        return self._conn().execute(f"SELECT count(*) FROM {self._t}").fetchone()[0]

    def ids(self) -> set[str]:
        return {r[0] for r in self._conn().execute(f"SELECT chunk_id FROM {self._t}")}

    def put(self, chunks: Sequence[Chunk], sentences: Sequence[np.ndarray | None]) -> None:
        """Insert or replace these chunks' rows (sentence vectors: one row per sentence, or
        None to keep what a row already holds), in one transaction."""
        self._outlets = None
        conn = self._conn()
        with _transaction(conn):
            for c, vectors in zip(chunks, sentences, strict=True):
                if vectors is None:
                    old = conn.execute(
                        f"SELECT sentences FROM {self._t} WHERE chunk_id = ?", (c.id,)
                    ).fetchone()
                    blob = old[0] if old else None
                else:
                    blob = _to_blob(vectors)
                conn.execute(f"DELETE FROM {self._t} WHERE chunk_id = ?", (c.id,))
                conn.execute(
                    f"INSERT INTO {self._t}(chunk_id, doc_id, tokens, sentences, "
                    "published_day, outlet, language) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (
                        c.id,
                        c.doc_id,
                        chunk_tokens(c),
                        blob,
                        published_day(c.published) or None,
                        c.outlet,
                        c.language,
                    ),
                )

    def sentences(self, chunk_ids: Sequence[str]) -> dict[str, np.ndarray]:
        """The sentence vectors of these chunks (float16, one row per sentence)."""
        out: dict[str, np.ndarray] = {}
        conn = self._conn()
        for i in range(0, len(chunk_ids), 500):
            part = list(chunk_ids[i : i + 500])
            marks = ",".join("?" * len(part))
            rows = conn.execute(
                f"SELECT chunk_id, sentences FROM {self._t} "
                f"WHERE chunk_id IN ({marks}) AND sentences IS NOT NULL",
                part,
            )
            out |= {cid: _from_blob(blob) for cid, blob in rows}
        return out

    def ids_by_doc(self, doc_ids: Sequence[str]) -> dict[str, set[str]]:
        out: dict[str, set[str]] = {}
        conn = self._conn()
        for i in range(0, len(doc_ids), 500):
            part = list(doc_ids[i : i + 500])
            marks = ",".join("?" * len(part))
            rows = conn.execute(
                f"SELECT doc_id, chunk_id FROM {self._t} WHERE doc_id IN ({marks})", part
            )
            for doc_id, chunk_id in rows:
                out.setdefault(doc_id, set()).add(chunk_id)
        return out

    def meeting(self, filters: Filters) -> list[str]:
        """The ids of the passages that meet `filters` (read from the filter index alone)."""
        conditions, params = filters.sql()
        rows = self._conn().execute(
            f"SELECT c.chunk_id FROM {self._t} c WHERE 1{conditions}", params
        )
        return [r[0] for r in rows]

    def without_filter_columns(self) -> list[str]:
        """Rows written before the filter columns existed."""
        rows = self._conn().execute(f"SELECT chunk_id FROM {self._t} WHERE language IS NULL")
        return [r[0] for r in rows]

    def without_sentences(self) -> list[str]:
        rows = self._conn().execute(f"SELECT chunk_id FROM {self._t} WHERE sentences IS NULL")
        return [r[0] for r in rows]

    def delete(self, chunk_ids: Iterable[str]) -> None:
        self._outlets = None
        conn = self._conn()
        with _transaction(conn):
            conn.executemany(f"DELETE FROM {self._t} WHERE chunk_id = ?", [(i,) for i in chunk_ids])

    def search(
        self, query: str, language: str, k: int, filters: Filters | None = None
    ) -> list[tuple[str, float]]:
        """The k best chunk ids for `query` with their BM25 scores (higher is better), among
        the passages that meet `filters`."""
        terms = list(dict.fromkeys(analyse(query, language)))
        if not terms or k <= 0:
            return []
        match = " OR ".join('"' + t.replace('"', '""') + '"' for t in terms)
        within, params = "", []
        if filters:
            # the conditions inside the ranking, so the k best that meet them come back: the
            # rows that meet them listed once from the filter index, each match checked
            # against the list (`+rowid`: FTS5 would look each listed row up instead)
            conditions, params = filters.sql()
            within = f" AND +rowid IN (SELECT c.row FROM {self._t} c WHERE 1{conditions})"
        # rank inside FTS5 first, then look up the k winners: joining before the LIMIT reads
        # every match's row, sentence vectors included (3x slower at 56k passages)
        rows = self._conn().execute(
            f"SELECT c.chunk_id, s.rank FROM (SELECT rowid, bm25({self._t}_fts) AS rank "
            f"FROM {self._t}_fts WHERE {self._t}_fts MATCH ?{within} ORDER BY rank LIMIT ?) s "
            f"JOIN {self._t} c ON c.row = s.rowid ORDER BY s.rank",
            (match, *params, k),
        )
        return [(cid, -float(rank)) for cid, rank in rows]

    def clear(self) -> None:
        self._outlets = None
        conn = self._conn()
        with _transaction(conn):
            conn.execute(f"DELETE FROM {self._t}")


def _to_blob(vectors: np.ndarray) -> bytes:
    m = np.asarray(vectors, dtype=np.float16)
    return np.asarray(m.shape, dtype=np.int32).tobytes() + m.tobytes()


def _from_blob(blob: bytes) -> np.ndarray:
    rows, dim = np.frombuffer(blob[:8], dtype=np.int32)
    return np.frombuffer(blob[8:], dtype=np.float16).reshape(int(rows), int(dim))


class _transaction:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def __enter__(self) -> sqlite3.Connection:
        self.conn.execute("BEGIN IMMEDIATE")
        return self.conn

    def __exit__(self, exc_type, *_: object) -> None:
        self.conn.execute("ROLLBACK" if exc_type else "COMMIT")
