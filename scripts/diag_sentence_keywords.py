"""Keyword search over sentences instead of passages, as a candidate source at 100k passages:
does it find gold passages that the passage-level keyword and vector searches miss?

    .venv/bin/python scripts/diag_sentence_keywords.py [--data DIR]  # default: the 109k store

Builds a throw-away FTS5 index of every stored passage's sentences (title + sentence, the same
analysis as the passage index) next to the store, then prints over bench_scale's 300 planted
questions the gold document's presence among: the 30 best passages by sentence keywords, the
union of today's 30 dense and 30 keyword candidates, and that union with the new source.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="/tmp/bench-scale/chroma-embedded-pooled-main/data")
    args = ap.parse_args()
    os.environ.update(
        RAG_DATA_DIR=args.data,
        RAG_LLM="scripted",
        RAG_SENTENCE_VECTORS="pooled",
        RAG_LOG_LEVEL="warning",
    )
    from bench_scale import Corpus

    from rag.components import make_embedder, make_passage_index, make_store
    from rag.language import detect_language
    from rag.settings import Settings
    from rag.text import analyse, split_sentences

    settings = Settings()
    embedder = make_embedder(settings)
    store, index = make_store(settings, embedder), make_passage_index(settings)
    db = sqlite3.connect(Path(args.data) / "diag-sentence-fts.sqlite3")
    db.execute(
        "CREATE VIRTUAL TABLE IF NOT EXISTS s USING fts5(tokens, cid UNINDEXED, "
        "tokenize='unicode61 remove_diacritics 0')"
    )
    if db.execute("SELECT count(*) FROM s").fetchone()[0] == 0:
        t0, total = time.time(), store.count()
        for offset in range(0, total, 5000):
            got = store._chunks.get(include=["documents", "metadatas"], limit=5000, offset=offset)
            rows = [
                (" ".join(analyse(f"{meta.get('title', '')}\n{sentence}", meta["language"])), cid)
                for cid, text, meta in zip(
                    got["ids"], got["documents"], got["metadatas"], strict=True
                )
                for sentence in split_sentences(text)
            ]
            db.executemany("INSERT INTO s(tokens, cid) VALUES (?, ?)", rows)
            db.commit()
            print(f"indexed {min(offset + 5000, total):,}/{total:,} passages", flush=True)
        print(f"sentence index built in {time.time() - t0:.0f} s")

    def by_sentence_keywords(question: str, k: int = 30) -> list[str]:
        terms = list(dict.fromkeys(analyse(question, detect_language(question))))
        if not terms:
            return []
        match = " OR ".join('"' + t.replace('"', '""') + '"' for t in terms)
        rows = db.execute("SELECT cid FROM s WHERE s MATCH ? ORDER BY rank LIMIT ?", (match, 4 * k))
        return list(dict.fromkeys(cid for (cid,) in rows))[:k]

    planted = Corpus(300).questions
    hits = {"sentence keywords": 0, "dense + keywords (today)": 0, "today + sentence keywords": 0}
    for question, gold in planted:
        vector = embedder.embed_queries([question])[0]
        today = {p.chunk.id for p in store.query(vector, 30)}
        today |= {cid for cid, _ in index.search(question, detect_language(question), 30)}
        new = set(by_sentence_keywords(question))
        doc = {c.id: c.doc_id for c in store.get_chunks(list(today | new))}
        hits["sentence keywords"] += gold in {doc.get(c) for c in new}
        hits["dense + keywords (today)"] += gold in {doc.get(c) for c in today}
        hits["today + sentence keywords"] += gold in {doc.get(c) for c in today | new}
    print("gold among candidates:", {k: round(v / len(planted), 3) for k, v in hits.items()})


if __name__ == "__main__":
    main()
