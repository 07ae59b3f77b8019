"""Scale: ingestion, start-up, memory, retrieval latency and recall at 1k-100k passages.

    rag bench scale --sizes 1000 10000 30000 100000 --out artifacts/scale
    rag bench scale --sizes 10000 --store chroma-http    # via `chroma run`
    rag bench scale --repo /path/to/other/checkout ...    # older code

The corpus: every PIAF and XQuAD dev paragraph (with its questions), then distractors of the
same languages made of sentences recombined from other paragraphs (never from the paragraph
of a planted question), 8 paragraphs to an article,
written as seed-format files. The sizes are nested and ingested one after the other into one
store through `rag ingest` (so a size's vectors are those of the smaller sizes plus the new
passages, embedded once: that is the cache between sizes). Per size it prints:
- ingestion of the new passages: passages/s (wall time of `rag ingest`, model loading
  included), beside `SentenceTransformer.encode` doing the same work for a sample of them in
  this process (each passage and, with separate sentence vectors, its sentences: every text
  the pipeline embeds), and the ratio of the two; also encode's rate for the passages alone;
- `rag serve` (no LLM: RAG_LLM=scripted): seconds until it answers its first /v1/retrieve;
  its RSS after the queries;
- /v1/retrieve p50/p95 over the planted questions (dev questions drawn once among the first
  1k paragraphs, the same at every size), the first time each is asked and repeated; recall@5
  (the gold paragraph's document among the top 5) of the first pass.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from evaluation.bench._measures import pct, rss_mb
from evaluation.bench._workloads import ROOT, ScaleCorpus

PY = sys.executable


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


_MODEL = None


def model_work(passages: list[tuple[str, str]], sentences: bool) -> list[str]:
    """The texts ingestion gives the model for these (title, paragraph) passages: each
    passage, and with separate sentence vectors each "title\nsentence" not already there."""
    from rag.text import sentence_spans

    texts = [f"{t}\n{p}" for t, p in passages]
    if sentences:
        seen = set(texts)
        for t, p in passages:
            for a, b in sentence_spans(p):
                if (text := f"{t}\n{p[a:b]}") not in seen:
                    seen.add(text)
                    texts.append(text)
    return texts


def raw_encode_seconds(texts: list[str]) -> float:
    """Seconds of SentenceTransformer.encode for these texts, loaded as the service loads it."""
    global _MODEL
    if _MODEL is None:
        from rag.components import make_embedder
        from rag.settings import Settings

        _MODEL = make_embedder(Settings().models).model
    model = _MODEL
    model.encode(texts[:32], prompt_name="passage", batch_size=32)  # warm
    t = time.perf_counter()
    model.encode(texts, prompt_name="passage", batch_size=32, normalize_embeddings=True)
    return time.perf_counter() - t


def measure_server(repo: Path, env: dict, questions: list[tuple[str, str]]) -> dict:
    port = free_port()
    log = open(env["RAG_DATA_DIR"] + "/serve.log", "w")  # noqa: SIM115
    t0 = time.monotonic()
    proc = subprocess.Popen(
        [PY, "-m", "api.cli", "serve", "--port", str(port)],
        cwd=repo,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        while True:
            if proc.poll() is not None:
                raise RuntimeError(Path(env["RAG_DATA_DIR"], "serve.log").read_text()[-3000:])
            try:
                r = httpx.post(f"{url}/v1/retrieve", json={"question": "test ?"}, timeout=600)
                if r.status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        ready = time.monotonic() - t0
        first, repeated, hits = [], [], 0
        with httpx.Client(base_url=url, timeout=600) as client:
            for passes, out in ((0, first), (1, repeated)):
                for question, gold in questions:
                    t = time.perf_counter()
                    r = client.post("/v1/retrieve", json={"question": question, "top_k": 5})
                    out.append((time.perf_counter() - t) * 1000)
                    if passes == 0:
                        hits += gold in [p["doc_id"] for p in r.json()["passages"]]
            health = client.get("/healthz").json()
        return {
            "ready_s": round(ready, 1),
            "rss_gb": round(rss_mb(proc.pid) / 1024, 2),
            "first_p50_ms": round(pct(first, 0.5), 1),
            "first_p95_ms": round(pct(first, 0.95), 1),
            "repeat_p50_ms": round(pct(repeated, 0.5), 1),
            "repeat_p95_ms": round(pct(repeated, 0.95), 1),
            "recall_at_5": round(hits / len(questions), 3),
            "passages": health["passages"],
        }
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def stored_passages(repo: Path, env: dict) -> int:
    """Passages in the store, counted by the code under test in a process of its own (an
    embedded store admits one process, and this one must not keep it)."""
    code = (
        "from rag.components import make_client; from rag.settings import Settings; "
        "s = Settings().store; "
        "print(make_client(s).get_collection(s.collection).count())"
    )
    run = subprocess.run(
        [PY, "-c", code], cwd=repo, env=env, capture_output=True, text=True, check=True
    )
    return int(run.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="rag bench scale",
        description=__doc__,
        formatter_class=argparse.RawTextHelpFormatter,
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 30000, 100000])
    parser.add_argument(
        "--store", choices=["chroma-embedded", "chroma-http"], default="chroma-embedded"
    )
    parser.add_argument("--repo", type=Path, default=ROOT, help="the checkout whose code runs")
    parser.add_argument(
        "--questions", type=int, default=300, help="planted questions, the same at every size"
    )
    parser.add_argument("--encode-sample", type=int, default=1000)
    parser.add_argument(
        "--sentences",
        choices=["separate", "none"],
        default="separate",
        help="sentence vectors of the code under test: separate texts (default), or none "
        "(older code computed them at query time)",
    )
    parser.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="RAG_X=VALUE",
        help="a setting for the code under test (repeatable), e.g. RAG_CANDIDATES=60",
    )
    parser.add_argument("--work", type=Path, default=Path("/tmp/bench-scale"))
    parser.add_argument("--out", type=Path, default=ROOT / "artifacts" / "scale")
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    parser.add_argument(
        "--resume",
        action="store_true",
        help="go on from the store a --keep run left: sizes it finished are skipped, the one it "
        "stopped in is ingested again (files already stored are skipped as unchanged)",
    )
    parser.add_argument(
        "--no-serve", action="store_true", help="ingest only (measure later with --serve-only)"
    )
    parser.add_argument(
        "--serve-only",
        action="store_true",
        help="measure the server again on the store a --keep run left (no ingestion)",
    )
    args = parser.parse_args(argv)

    work = args.work / f"{args.store}-{args.sentences}-{args.repo.name}"
    if not (args.serve_only or args.resume):
        shutil.rmtree(work, ignore_errors=True)
    begun = sorted(int(p.name.split("-")[1]) for p in work.glob("add-*")) if args.resume else []
    data = work / "data"
    data.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    env |= {
        "RAG_DATA_DIR": str(data),
        "RAG_LLM": "scripted",
        "RAG_LOG_LEVEL": "warning",
        "RAG_VECTOR_STORE": args.store,
    }
    env |= dict(item.split("=", 1) for item in args.env)
    chroma = None
    if args.store == "chroma-http":
        port = free_port()
        env["RAG_CHROMA_PORT"] = str(port)
        chroma = subprocess.Popen(
            [
                str(Path(PY).parent / "chroma"),
                "run",
                "--path",
                str(work / "chroma-server"),
                "--port",
                str(port),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(100):
            try:
                httpx.get(f"http://127.0.0.1:{port}/api/v2/heartbeat")
                break
            except httpx.HTTPError:
                time.sleep(0.2)
    corpus = ScaleCorpus(args.questions)
    questions = corpus.questions
    rng = random.Random(5)
    rows, n, stored = [], 0, 0
    if args.serve_only:  # measure the server again on a kept store, no ingestion
        sizes = [int(p.name.split("-")[1]) for p in work.glob("add-*")]
        if not sizes:
            raise SystemExit(f"{work}: no store a --keep run left (--serve-only measures one)")
        size = max(sizes)
        try:
            served = measure_server(args.repo, env, questions)
            print(json.dumps({"size": size, "env": args.env, **served}))
        finally:
            if chroma is not None:
                chroma.terminate()
        return 0
    try:
        for size in sorted(args.sizes):
            folder = work / f"add-{size}"
            n, texts = corpus.write(folder, n, size)  # deterministic: a resumed run rewrites
            if begun and size < begun[-1]:  # the same files; this size was finished before
                continue
            if begun and not stored:
                stored = stored_passages(args.repo, env)
            sample = rng.sample(texts, min(args.encode_sample, len(texts)))
            # the same work as ingestion: passages, and their sentences as separate texts when
            # the code under test embeds them so
            sentences = args.sentences == "separate"
            encode_rate = len(sample) / raw_encode_seconds(model_work(sample, sentences))
            passage_rate = len(sample) / raw_encode_seconds(model_work(sample, False))
            t = time.monotonic()
            run = subprocess.run(
                [PY, "-m", "api.cli", "ingest", "-q", str(folder)],
                cwd=args.repo,
                env=env,
                capture_output=True,
                text=True,
            )
            wall = time.monotonic() - t
            if run.returncode != 0:
                raise SystemExit(run.stderr[-3000:])
            if args.no_serve:
                total = stored_passages(args.repo, env)
                served = {"passages": total}
            else:
                served = measure_server(args.repo, env, questions)
            added, stored = served["passages"] - stored, served["passages"]
            row = {
                "size": size,
                "passages": served["passages"],
                "ingested": added,
                "ingest_per_s": round(added / wall, 1),
                "encode_per_s": round(encode_rate, 1),
                "ratio": round(added / wall / encode_rate, 2),
                "passages_only_encode_per_s": round(passage_rate, 1),
                **served,
            }
            rows.append(row)
            print(json.dumps(row), flush=True)
    finally:
        if chroma is not None:
            chroma.terminate()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    args.out.mkdir(parents=True, exist_ok=True)
    name = f"scale-{args.store}-{args.sentences}-{args.repo.resolve().name}.json"
    (args.out / name).write_text(json.dumps(rows, indent=2))
    cols = [
        "size",
        "passages",
        "ingest_per_s",
        "encode_per_s",
        "ratio",
        "passages_only_encode_per_s",
        "ready_s",
        "rss_gb",
        "first_p50_ms",
        "first_p95_ms",
        "repeat_p50_ms",
        "repeat_p95_ms",
        "recall_at_5",
    ]
    cols = [c for c in cols if all(c in row for row in rows)]
    print("\n| " + " | ".join(cols) + " |\n|" + "---|" * len(cols))
    for row in rows:
        print("| " + " | ".join(str(row[c]) for c in cols) + " |")
    print(
        f"\nstore {args.store}, sentence vectors {args.sentences}, code at {args.repo}; "
        "the sizes share one store: each size's "
        "vectors are the smaller sizes' (embedded once) plus its own new passages"
    )
    print(f"wrote {args.out / name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
