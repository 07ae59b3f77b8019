"""Why recall@5 falls at 100k passages: where the gold passage is lost, and what three fixes
would win, on a store that `bench_scale.py --keep` left (default: the pooled 109k store).

    .venv/bin/python scripts/diag_scale_recall.py [--data DIR]  # default: the 109k pooled store

Prints, over bench_scale's 300 planted questions:
1. the gold document's presence among the dense top-30, the keyword top-30, their union
   (the candidates), and the fused top-5 (what bench_scale counts);
2. a sentence-level vector search as a third candidate source, brute force over every stored
   sentence vector (an upper bound for an ANN index over them): its own recall and the union's;
3. the fusion weights (dense, best sentence, keyword; best sentence or mean of the best two),
   with 30 or 60 candidates per source, chosen on 300 *other* questions about the same
   paragraphs, then scored on the planted ones;
4. collapsing candidates whose best-matching sentence is the same text (duplicated wire copy).
"""

from __future__ import annotations

import argparse
import os
import random
import sys
from pathlib import Path

import numpy as np

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
    from bench_scale import SETS, Corpus

    from evaluation.datasets import load_squad
    from rag.components import make_embedder, make_passage_index, make_store
    from rag.language import detect_language
    from rag.passage_index import _from_blob
    from rag.retrieval import HybridRetriever
    from rag.settings import Settings
    from rag.text import split_sentences

    settings = Settings()
    embedder = make_embedder(settings)
    store, index = make_store(settings, embedder), make_passage_index(settings)
    planted = Corpus(300).questions
    held, asked = {g for _, g in planted}, {q for q, _ in planted}
    tune = [
        (q.question, q.gold)
        for path in SETS
        for q in load_squad(path).questions
        if q.gold in held and q.question not in asked
    ]
    random.Random(3).shuffle(tune)
    tune = tune[:300]

    rows, ids = [], []
    for cid, blob in index._conn().execute(
        f"SELECT chunk_id, sentences FROM {index._t} WHERE sentences IS NOT NULL"
    ):
        m = _from_blob(blob)
        rows.append(m)
        ids += [cid] * len(m)
    every_sentence, sentence_chunk = np.concatenate(rows).astype(np.float32), np.array(ids)
    print(f"{len(every_sentence):,} sentence vectors, {store.count():,} passages", flush=True)

    def doc_of(chunk_ids) -> dict[str, str]:
        return {c.id: c.doc_id for c in store.get_chunks(list(chunk_ids))}

    def features(question: str, pool: int = 60):
        v = np.asarray(embedder.embed_queries([question])[0], dtype=np.float32)
        f: dict[str, dict] = {}
        for rank, p in enumerate(store.query(v, pool)):
            f.setdefault(p.chunk.id, {}).update(dense=p.score, dr=rank)
        for rank, (cid, s) in enumerate(index.search(question, detect_language(question), pool)):
            f.setdefault(cid, {}).update(bm25=s, kr=rank)
        for cid, m in index.sentences(list(f)).items():
            sims = np.sort(m.astype(np.float32) @ v)
            f[cid].update(sentence=float(sims[-1]), best2=float(sims[-2:].mean()))
        order = np.argsort(-(every_sentence @ v))[:400]
        by_sentence = list(dict.fromkeys(sentence_chunk[order].tolist()))[:100]
        return f, by_sentence, v

    planted_f = [(features(q), g) for q, g in planted]
    tune_f = [(features(q), g) for q, g in tune]

    # 1 and 2: where the gold is lost
    n = len(planted)
    counts = dict.fromkeys(["dense", "keyword", "union", "sent30", "sent100", "union+sent100"], 0)
    for (f, by_sentence, _), gold in planted_f:
        docs = doc_of(set(f) | set(by_sentence))
        dense = {docs[c] for c in f if f[c].get("dr", 99) < 30}
        kw = {docs[c] for c in f if f[c].get("kr", 99) < 30}
        counts["dense"] += gold in dense
        counts["keyword"] += gold in kw
        counts["union"] += gold in dense | kw
        counts["sent30"] += gold in {docs[c] for c in by_sentence[:30]}
        counts["sent100"] += gold in {docs[c] for c in by_sentence}
        counts["union+sent100"] += gold in dense | kw | {docs[c] for c in by_sentence}
    print("gold among candidates (30 per source):", {k: round(v / n, 3) for k, v in counts.items()})

    # 3: fusion weights chosen on other questions
    def minmax(f, key, cids):
        vals = {c: f[c][key] for c in cids if key in f[c]}
        lo, hi = min(vals.values(), default=0), max(vals.values(), default=0)
        return {c: (x - lo) / (hi - lo) if hi > lo else 1.0 for c, x in vals.items()}

    def recall(data, w, pool, skey):
        hits = 0
        for (f, _, _), gold in data:
            cids = [c for c in f if f[c].get("dr", 99) < pool or f[c].get("kr", 99) < pool]
            dense = minmax(f, "dense", [c for c in cids if f[c].get("dr", 99) < pool])
            kw = minmax(f, "bm25", [c for c in cids if f[c].get("kr", 99) < pool])
            sent = minmax(f, skey, cids)
            score = {
                c: w[0] * dense.get(c, 0) + w[1] * sent.get(c, 0) + w[2] * kw.get(c, 0)
                for c in cids
            }
            top = sorted(cids, key=lambda c: -score[c])[:5]
            hits += gold in set(doc_of(top).values())
        return hits / len(data)

    today = (0.25, 0.35, 0.4)
    print(
        f"fused top-5 today: planted {recall(planted_f, today, 30, 'sentence'):.3f}, "
        f"tuning questions {recall(tune_f, today, 30, 'sentence'):.3f}",
        flush=True,
    )
    grid = []
    for pool in (30, 60):
        for a in np.arange(0, 1.01, 0.1):
            for b in np.arange(0, 1.01 - a, 0.1):
                w = (round(float(a), 1), round(float(b), 1), round(float(1 - a - b), 1))
                for skey in ("sentence", "best2"):
                    grid.append((recall(tune_f, w, pool, skey), pool, w, skey))
    grid.sort(reverse=True)
    for t, pool, w, skey in grid[:3]:
        print(
            f"best on tuning: pool {pool}, weights {w}, {skey}: tuning {t:.3f}, "
            f"planted {recall(planted_f, w, pool, skey):.3f}"
        )

    # 4: collapse candidates that share their best sentence's text
    retriever = HybridRetriever(store, embedder, index, "hybrid", 30)
    base = collapsed = 0
    for (q, gold), ((_, _, v), _) in zip(planted, planted_f, strict=True):
        ranked = retriever.retrieve(q, 30)
        mats = index.sentences([p.chunk.id for p in ranked])
        kept, seen = [], set()
        for p in ranked:
            m, sents = mats.get(p.chunk.id), split_sentences(p.chunk.text)
            if m is not None and len(sents) == len(m):
                best = " ".join(sents[int(np.argmax(m.astype(np.float32) @ v))].split()).lower()
                if best in seen:
                    continue
                seen.add(best)
            kept.append(p)
        base += gold in {p.chunk.doc_id for p in ranked[:5]}
        collapsed += gold in {p.chunk.doc_id for p in kept[:5]}
    print(
        f"fused top-5 {base / n:.3f}; with duplicate best sentences collapsed {collapsed / n:.3f}"
    )


if __name__ == "__main__":
    main()
