"""FTS5 keyword search on a kept bench store: the query as rag/passage_index.py runs it (rank
inside FTS5, then look up the k winners) beside the former join-then-rank form, side by side.

    .venv/bin/python scripts/bench_fts.py --index /tmp/bench-scale/<store>/data/index.sqlite3

Copy the file first (sqlite3 SRC ".backup DST") if an ingestion is writing to it.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))
from bench_scale import Corpus, pct  # noqa: E402

from rag.language import detect_language  # noqa: E402
from rag.text import analyse  # noqa: E402

T = "kw_articles"
FORMS = {
    "join then rank (before)": f"SELECT c.chunk_id, bm25({T}_fts) AS rank FROM {T}_fts "
    f"JOIN {T} c ON c.row = {T}_fts.rowid WHERE {T}_fts MATCH ? ORDER BY rank LIMIT ?",
    "rank then join (now)": f"SELECT c.chunk_id, s.rank FROM (SELECT rowid, bm25({T}_fts) AS "
    f"rank FROM {T}_fts WHERE {T}_fts MATCH ? ORDER BY rank LIMIT ?) s "
    f"JOIN {T} c ON c.row = s.rowid ORDER BY s.rank",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--index", type=Path, required=True)
    parser.add_argument("--k", type=int, default=30, help="candidates asked (RAG_CANDIDATES)")
    args = parser.parse_args()
    conn = sqlite3.connect(args.index)
    n = conn.execute(f"SELECT count(*) FROM {T}").fetchone()[0]
    matches = []
    for question, _ in Corpus(300).questions:
        terms = dict.fromkeys(analyse(question, detect_language(question)))
        matches.append(" OR ".join('"' + t.replace('"', '""') + '"' for t in terms))
    results = {}
    for _ in range(2):  # the second round is reported: both forms on a warm page cache
        for name, sql in FORMS.items():
            times, rows = [], []
            for match in matches:
                t = time.perf_counter()
                rows.append(conn.execute(sql, (match, args.k)).fetchall())
                times.append((time.perf_counter() - t) * 1000)
            results[name] = (times, rows)
    print(f"{n} passages, {len(matches)} planted questions, k={args.k}")
    for name, (times, _) in results.items():
        print(f"{name:26} p50 {pct(times, 0.5):6.1f} ms  p95 {pct(times, 0.95):6.1f} ms")
    a, b = (rows for _, rows in results.values())
    print(f"identical results: {sum(x == y for x, y in zip(a, b, strict=True))}/{len(a)}")


if __name__ == "__main__":
    main()
