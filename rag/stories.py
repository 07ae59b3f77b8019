"""Reprints folded into stories: the same wire story carried by several outlets, with another
headline, a trimmed or extended ending, a changed or moved paragraph, is one story.

How a document is matched (datasketch MinHash LSH, measured by `rag bench reprints`):
- its body's word 5-shingles (`SHINGLE` words, accents folded, lower case, punctuation out:
  « L’armée » and "l'armee" meet), hashed into a `NUM_PERM`-value MinHash;
- candidates: the documents the LSH index returns for a Jaccard similarity of `LSH_THRESHOLD`;
- a candidate is a near-duplicate when the shingles the two share, estimated from their
  MinHash Jaccard J and their shingle counts (|A ∩ B| = J (|A| + |B|) / (1 + J)), are at least
  `CONTAINMENT` of the shorter one's: a reprint cut to half its length still holds most of the
  shorter text, which Jaccard alone would call a different story.
A document joins the story of its nearest near-duplicate (highest estimated containment, then
Jaccard), or founds a new story.

Stories are decided when a document is added; removing one never re-decides them:
- a document near members of two stories joins the nearest one; the other story is merged
  into it only when the document is a near-copy of one of its members too (Jaccard from
  `MERGE_JACCARD`, not only containment): two differently trimmed reprints that arrived before
  their original are one story, while a round-up that holds two short wire stories (high
  containment of each, low Jaccard) does not chain them;
- removing a member leaves the others where they are, its founder and a member through which
  others joined or stories merged included: nothing is split (the members joined because each
  was a near-duplicate of the story when it arrived) and nothing is merged. A story id is a
  label (`s1`, `s2`, ... never reused), not a document: it outlives its founder;
- adding a document id again (a new version) first removes the old version.

Persistence: one table per collection (`name`) in the SQLite file at `path` (the passage
index's file, beside the vectors): each member's story, shingle count and signature. The LSH
index lives in memory, rebuilt from the signatures when the table changed since it was built
(another process wrote, or at the first `add`); reads (`story`, `members`) go to SQLite.
Thread-safe with one writing process: writes are serialised by a lock.
"""

from __future__ import annotations

import re
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from datasketch import LeanMinHash, MinHash, MinHashLSH

from rag.sqlite import PerThread
from rag.text import fold

SHINGLE = 5  # words per shingle
NUM_PERM = 128
SEED = 1
# LSH candidates from this Jaccard similarity; a near-duplicate then needs this share of the
# shorter text's shingles in common. `rag bench reprints --grid` (234 PIAF stories, 3 reprints
# each, added in a shuffled order): 5-shingles, 0.2, 0.5 group pairs with precision 0.994 and
# recall 0.956; containment 0.6: 0.997 / 0.940; 3-shingles: 0.961 / 0.949; 7-shingles:
# 0.983 / 0.944. The pairs missed are short briefs cut by half and extended by an outlet's own
# lines; the pairs wrongly joined, short briefs of one outlet sharing its footer.
LSH_THRESHOLD = 0.2
CONTAINMENT = 0.5
# A document that is a near-copy (Jaccard from this) of members of two stories joins them
# (recall 0.955 -> 0.956 in that bench, precision unchanged)
MERGE_JACCARD: float | None = 0.4
_WORD = re.compile(r"\w+")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS members (
    doc_id TEXT PRIMARY KEY,
    story_id TEXT NOT NULL,
    shingles INTEGER NOT NULL,
    signature BLOB NOT NULL,
    added REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS members_story ON members(story_id);
CREATE TABLE IF NOT EXISTS members_state (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""


def shingles(text: str, size: int = SHINGLE) -> set[bytes]:
    """The word `size`-shingles of a text, folded: what two reprints share. A text shorter
    than `size` words is one shingle."""
    words = _WORD.findall(fold(text))
    if len(words) <= size:
        return {" ".join(words).encode()} if words else set()
    return {" ".join(words[i : i + size]).encode() for i in range(len(words) - size + 1)}


def signature(items: set[bytes]) -> LeanMinHash:
    m = MinHash(num_perm=NUM_PERM, seed=SEED)
    if items:
        m.update_batch(list(items))
    return LeanMinHash(m)


def shared_share(a: LeanMinHash, na: int, b: LeanMinHash, nb: int) -> tuple[float, float]:
    """(estimated share of the shorter text's shingles the two have in common, Jaccard)."""
    if not na or not nb:
        return 0.0, 0.0
    j = float(a.jaccard(b))
    common = j * (na + nb) / (1 + j)
    return min(1.0, common / min(na, nb)), j


@dataclass(frozen=True)
class _Member:
    story: str
    shingles: int
    signature: LeanMinHash


class StoryIndex:
    """Near-duplicate documents grouped into stories, for the collection `name`."""

    def __init__(
        self,
        path: Path,
        name: str,
        containment: float = CONTAINMENT,
        lsh_threshold: float = LSH_THRESHOLD,
        shingle: int = SHINGLE,
        merge_jaccard: float | None = MERGE_JACCARD,
    ) -> None:
        self.path, self.name = Path(path), name
        self.containment, self.lsh_threshold, self.shingle = containment, lsh_threshold, shingle
        self.merge_jaccard = merge_jaccard
        self._t = "story_" + "".join(c if c.isalnum() else "_" for c in name)
        self._conn = PerThread(self.path)
        self._write = threading.Lock()
        self._conn().executescript(_SCHEMA.replace("members", self._t))
        self._lsh: MinHashLSH | None = None
        self._loaded: dict[str, _Member] = {}
        self._version = -1  # the table's version the LSH index was built from

    # --- reads --------------------------------------------------------------------------------
    def story(self, doc_id: str) -> str | None:
        """The story of a document (None: not in the index)."""
        row = (
            self._conn()
            .execute(f"SELECT story_id FROM {self._t} WHERE doc_id = ?", (doc_id,))
            .fetchone()
        )
        return row[0] if row else None

    def stories(self, doc_ids: list[str]) -> dict[str, str]:
        """The stories of several documents at once (those in the index)."""
        out: dict[str, str] = {}
        for i in range(0, len(doc_ids), 500):
            part = doc_ids[i : i + 500]
            marks = ",".join("?" * len(part))
            rows = self._conn().execute(
                f"SELECT doc_id, story_id FROM {self._t} WHERE doc_id IN ({marks})", part
            )
            out.update(rows.fetchall())
        return out

    def members(self, story_id: str) -> list[str]:
        """The documents of a story, in the order they were added."""
        rows = self._conn().execute(
            f"SELECT doc_id FROM {self._t} WHERE story_id = ? ORDER BY added, rowid", (story_id,)
        )
        return [r[0] for r in rows]

    def count(self) -> int:
        return self._conn().execute(f"SELECT count(*) FROM {self._t}").fetchone()[0]

    # --- writes ---------------------------------------------------------------------------
    def add(self, doc_id: str, text: str) -> str:
        """Index a document's body; returns its story: that of its nearest near-duplicate, or
        a new one. A document already indexed is replaced (it may change story)."""
        items = shingles(text, self.shingle)
        sig = signature(items)
        with self._write:
            conn = self._conn()
            conn.execute("BEGIN IMMEDIATE")
            try:
                self._sync(conn)
                if doc_id in self._loaded:
                    self._forget(conn, doc_id)
                near = self._near_stories(sig, len(items))
                story = near[0] if near else self._new_story(conn)
                if len(near) > 1:
                    self._merge(conn, story, near[1:])
                conn.execute(
                    f"INSERT INTO {self._t} (doc_id, story_id, shingles, signature, added) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (doc_id, story, len(items), sig.hashvalues.tobytes(), time.time()),
                )
                self._bump(conn)
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                self._version = -1  # memory may be ahead of the table: rebuild next time
                raise
            self._remember(doc_id, _Member(story, len(items), sig))
            return story

    def remove(self, doc_id: str) -> bool:
        """Take a document out of its story (the other members stay in it). False: it was
        not indexed."""
        with self._write:
            conn = self._conn()
            conn.execute("BEGIN IMMEDIATE")
            try:
                self._sync(conn)
                found = doc_id in self._loaded
                if found:
                    self._forget(conn, doc_id)
                    self._bump(conn)
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                self._version = -1
                raise
            return found

    # --- internals ------------------------------------------------------------------------

    def _state(self, conn: sqlite3.Connection, key: str) -> int:
        row = conn.execute(f"SELECT value FROM {self._t}_state WHERE key = ?", (key,)).fetchone()
        return int(row[0]) if row else 0

    def _set_state(self, conn: sqlite3.Connection, key: str, value: int) -> None:
        conn.execute(
            f"INSERT INTO {self._t}_state (key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    def _bump(self, conn: sqlite3.Connection) -> None:
        self._version = self._state(conn, "version") + 1
        self._set_state(conn, "version", self._version)

    def _new_story(self, conn: sqlite3.Connection) -> str:
        n = self._state(conn, "stories") + 1
        self._set_state(conn, "stories", n)
        return f"s{n}"

    def _sync(self, conn: sqlite3.Connection) -> None:
        """Rebuild the LSH index from the table when it changed since it was built."""
        version = self._state(conn, "version")
        if self._lsh is not None and version == self._version:
            return
        self._lsh = MinHashLSH(threshold=self.lsh_threshold, num_perm=NUM_PERM)
        self._loaded = {}
        rows = conn.execute(f"SELECT doc_id, story_id, shingles, signature FROM {self._t}")
        for doc_id, story, n, blob in rows:
            values = np.frombuffer(blob, dtype=np.uint32)
            sig = LeanMinHash(seed=SEED, hashvalues=values, scheme="affine32")
            self._remember(doc_id, _Member(story, n, sig))
        self._version = version

    def _remember(self, doc_id: str, member: _Member) -> None:
        assert self._lsh is not None
        self._loaded[doc_id] = member
        if member.shingles:
            self._lsh.insert(doc_id, member.signature, check_duplication=False)

    def _forget(self, conn: sqlite3.Connection, doc_id: str) -> None:
        assert self._lsh is not None
        member = self._loaded.pop(doc_id)
        if member.shingles:
            self._lsh.remove(doc_id)
        conn.execute(f"DELETE FROM {self._t} WHERE doc_id = ?", (doc_id,))

    def _near_stories(self, sig: LeanMinHash, n: int) -> list[str]:
        """The story of the nearest near-duplicate first, then the other stories this document
        is a near-copy of (to merge into it); empty: no near-duplicate."""
        assert self._lsh is not None
        if not n:
            return []
        best: dict[str, tuple[float, float]] = {}
        for doc_id in self._lsh.query(sig):
            other = self._loaded[doc_id]
            share, j = shared_share(sig, n, other.signature, other.shingles)
            if share >= self.containment and (share, j) > best.get(other.story, (-1.0, -1.0)):
                best[other.story] = (share, j)
        ranked = sorted(best, key=best.__getitem__, reverse=True)
        if self.merge_jaccard is None:
            return ranked[:1]
        return ranked[:1] + [s for s in ranked[1:] if best[s][1] >= self.merge_jaccard]

    def _merge(self, conn: sqlite3.Connection, into: str, stories: list[str]) -> None:
        marks = ",".join("?" * len(stories))
        conn.execute(
            f"UPDATE {self._t} SET story_id = ? WHERE story_id IN ({marks})", (into, *stories)
        )
        gone = set(stories)
        for doc_id, m in list(self._loaded.items()):
            if m.story in gone:
                self._loaded[doc_id] = _Member(into, m.shingles, m.signature)
