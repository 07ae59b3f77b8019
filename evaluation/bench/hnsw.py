"""Chroma's HNSW graph against exact search, on the vectors of a store `rag bench scale` kept.

    rag bench hnsw --data /tmp/bench-scale/chroma-embedded-separate-main/data
    rag bench hnsw --data ... --configs 16/100/100 32/200/500 --hybrid

For the planted questions of `rag bench scale`, recall@5 of the gold paragraph by exact
cosine search over every stored passage vector, then by a fresh HNSW collection holding the
same vectors for each graph configuration (max_neighbors / ef_construction / ef_search):
build seconds, recall@5 and milliseconds a query. `--hybrid` also rebuilds the store's own
passage collection with each configuration (on a copy) and measures the service's hybrid
retrieval (recall@5 of the document, ms a query, in process).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from evaluation.bench._workloads import ScaleCorpus


def read_collection(col) -> dict[str, list]:
    out: dict[str, list] = {"ids": [], "embeddings": [], "documents": [], "metadatas": []}
    for offset in range(0, col.count(), 5000):
        got = col.get(include=["embeddings", "documents", "metadatas"], limit=5000, offset=offset)
        for key in out:
            out[key] += list(got[key])
    return out


def build(client, name: str, data: dict[str, list], hnsw: dict[str, int], meta: dict):
    col = client.create_collection(
        name,
        metadata=meta,
        configuration={"hnsw": {"space": "cosine", **hnsw}},
        embedding_function=None,
    )
    for i in range(0, len(data["ids"]), 5000):
        col.add(
            ids=data["ids"][i : i + 5000],
            embeddings=np.asarray(data["embeddings"][i : i + 5000], dtype=np.float32),
            documents=data["documents"][i : i + 5000],
            metadatas=data["metadatas"][i : i + 5000],
        )
    return col


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="rag bench hnsw", description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--data", type=Path, required=True, help="a bench store's RAG_DATA_DIR")
    parser.add_argument("--configs", nargs="+", default=["16/100/100", "32/200/500"])
    parser.add_argument("--questions", type=int, default=300)
    parser.add_argument("--hybrid", action="store_true")
    args = parser.parse_args(argv)
    if not (args.data / "chroma").is_dir():
        raise SystemExit(f"{args.data}: no chroma/ folder (a store `rag bench scale --keep` left)")

    import chromadb

    from rag.components import make_embedder
    from rag.settings import Settings

    questions = ScaleCorpus(args.questions).questions
    embedder = make_embedder(Settings().models)
    source = chromadb.PersistentClient(path=str(args.data / "chroma"))
    stored = source.get_collection("articles")
    meta = dict(stored.metadata or {})
    meta.pop("hnsw:space", None)
    data = read_collection(stored)
    matrix = np.asarray(data["embeddings"], dtype=np.float32)
    docs = np.asarray([m["doc_id"] for m in data["metadatas"]])
    queries = np.asarray([embedder.embed_queries([q])[0] for q, _ in questions], np.float32)
    golds = [g for _, g in questions]
    scores = queries @ matrix.T
    exact = sum(g in docs[np.argsort(-row)[:5]] for g, row in zip(golds, scores, strict=True))
    print(f"{len(docs)} passages, {len(golds)} planted questions")
    print(f"exact search: dense recall@5 {exact / len(golds):.3f}")
    for config in args.configs:
        m, efc, efs = (int(x) for x in config.split("/"))
        hnsw = {"max_neighbors": m, "ef_construction": efc, "ef_search": efs}
        client = chromadb.PersistentClient(path=tempfile.mkdtemp())
        t = time.perf_counter()
        col = build(client, "probe", data, hnsw, meta)
        built = time.perf_counter() - t
        t, hits = time.perf_counter(), 0
        for gold, v in zip(golds, queries, strict=True):
            got = col.query(query_embeddings=v[None, :], n_results=30, include=["metadatas"])
            hits += gold in [x["doc_id"] for x in got["metadatas"][0][:5]]
        ms = (time.perf_counter() - t) / len(golds) * 1000
        line = f"HNSW {config}: dense recall@5 {hits / len(golds):.3f}, build {built:.0f} s, "
        line += f"{ms:.1f} ms a query (30 results)"
        if args.hybrid:
            line += ", " + hybrid(args, data, hnsw, meta, questions)
        print(line, flush=True)
    return 0


def hybrid(args, data, hnsw, meta, questions) -> str:
    """The service's retrieval on a copy of the store whose passage graph is rebuilt."""
    import chromadb

    from rag.components import make_service
    from rag.settings import Settings

    copy = Path(tempfile.mkdtemp()) / "data"
    shutil.copytree(args.data, copy, ignore=shutil.ignore_patterns("ingest.lock", "serve.log"))
    client = chromadb.PersistentClient(path=str(copy / "chroma"))
    client.delete_collection("articles")
    build(client, "articles", data, hnsw, meta)
    client.clear_system_cache()
    settings = Settings(data_dir=copy, llm="scripted")
    retriever = make_service(settings).retriever
    retriever.retrieve("warm-up", 5)
    t, hits = time.perf_counter(), 0
    for question, gold in questions:
        hits += gold in [p.chunk.doc_id for p in retriever.retrieve(question, 5)]
    ms = (time.perf_counter() - t) / len(questions) * 1000
    shutil.rmtree(copy.parent, ignore_errors=True)
    return f"hybrid recall@5 {hits / len(questions):.3f} ({ms:.0f} ms a query, in process)"


if __name__ == "__main__":
    sys.exit(main())
