"""FTS5 keyword search on a kept scale store: rank inside FTS5 then join, against join then rank.

The query as rag/passage_index.py runs it (rank inside FTS5, then look up the k winners)
beside the former join-then-rank form, side by side, over the scale benchmark's planted
questions.

    rag bench fts --index /tmp/bench-scale/<store>/data/index.sqlite3

Copy the file first (sqlite3 SRC ".backup DST") if an ingestion is writing to it.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import time
from pathlib import Path

from evaluation.bench._measures import pct
from evaluation.bench._workloads import ScaleCorpus
from rag.language import detect_language
from rag.text import analyse

T = "kw_articles"
FORMS = {
    "join then rank (before)": f"SELECT c.chunk_id, bm25({T}_fts) AS rank FROM {T}_fts "
    f"JOIN {T} c ON c.row = {T}_fts.rowid WHERE {T}_fts MATCH ? ORDER BY rank LIMIT ?",
    "rank then join (now)": f"SELECT c.chunk_id, s.rank FROM (SELECT rowid, bm25({T}_fts) AS "
    f"rank FROM {T}_fts WHERE {T}_fts MATCH ? ORDER BY rank LIMIT ?) s "
    f"JOIN {T} c ON c.row = s.rowid ORDER BY s.rank",
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="rag bench fts", description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--index", type=Path, required=True)
    parser.add_argument("--k", type=int, default=30, help="candidates asked (RAG_CANDIDATES)")
    args = parser.parse_args(argv)
    if not args.index.is_file():
        raise SystemExit(f"{args.index}: no such file (a kept store's index.sqlite3)")
    conn = sqlite3.connect(args.index)
    n = conn.execute(f"SELECT count(*) FROM {T}").fetchone()[0]
    matches = []
    for question, _ in ScaleCorpus(300).questions:
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
    return 0


if __name__ == "__main__":
    sys.exit(main())
