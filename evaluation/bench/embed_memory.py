"""Resident memory of the e5 embedder over many queries and claim batches, per setting.

    rag bench embed_memory --rounds 600

A server embeds each question alone, then the claims and sentences of each draft in batches
of every size and length. oneDNN (torch's bf16 kernels) builds and keeps kernels per input
shape, so memory grows with the shapes seen until its kernel cache is full. Each setting runs
in its own process, as the server does (malloc tuned, freed memory trimmed after each round).
Prints RSS at start and end, the growth over the last half (flat or not), and the time per
query and per batch against the first setting. Nothing else heavy should run meanwhile.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import time

from evaluation.bench._measures import own_rss_mb
from evaluation.bench._workloads import PIAF_DEV, require

# the embedder's arguments per row (rag.embedding.SentenceTransformerEmbedder)
SETTINGS: dict[str, dict] = {
    "oneDNN default (1,024 kernels)": {"kernel_cache": 1024},
    "kernel cache 256": {"kernel_cache": 256},
    "kernel cache 64 (default)": {"kernel_cache": 64},
    "float32": {"dtype": "float32"},
}


def _texts() -> list[str]:
    data = json.loads(PIAF_DEV.read_text())
    out: list[str] = []
    for article in data["data"]:
        for p in article["paragraphs"]:
            out += [s for s in p["context"].split(". ") if s]
            out += [q["question"] for q in p["qas"]]
    return out


def measure(update: dict, rounds: int) -> dict:
    from rag.embedding import SentenceTransformerEmbedder
    from rag.memory import release_free_memory, tune_malloc
    from rag.settings import ModelSettings

    tune_malloc()
    rng = random.Random(0)
    texts = _texts()
    models = ModelSettings()
    embedder = SentenceTransformerEmbedder(models.embed_model_path, models.embed_model, **update)
    embedder.embed_queries(["warm-up"])
    start, half = own_rss_mb(), 0
    query_s = batch_s = 0.0
    for i in range(rounds):
        t0 = time.perf_counter()
        embedder.embed_queries([rng.choice(texts)])
        t1 = time.perf_counter()
        embedder.embed_queries(rng.sample(texts, rng.randint(2, 30)))
        query_s += t1 - t0
        batch_s += time.perf_counter() - t1
        release_free_memory()
        if i + 1 == rounds // 2:
            half = own_rss_mb()
    end = own_rss_mb()
    return {
        "start": start,
        "end": end,
        "second_half": end - half,
        "query_ms": 1000 * query_s / rounds,
        "batch_ms": 1000 * batch_s / rounds,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="rag bench embed_memory",
        description=__doc__,
        formatter_class=argparse.RawTextHelpFormatter,
    )
    ap.add_argument("--rounds", type=int, default=600, help="queries (and batches) per setting")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        print(json.dumps(measure(json.loads(args.child), args.rounds)))
        return 0
    require(PIAF_DEV)  # this benchmark samples PIAF's dev texts
    print(
        f"{'setting':<32} {'RSS start':>9} {'end':>6} {'2nd half':>8} "
        f"{'query ms':>8} {'batch ms':>8} {'ratio':>6}"
    )
    base = None
    for name, update in SETTINGS.items():
        # this module again, in a process of its own
        child = [sys.executable, "-m", __spec__.name, "--rounds", str(args.rounds), "--child"]
        out = subprocess.run([*child, json.dumps(update)], capture_output=True, text=True)
        if out.returncode:
            sys.exit(f"{name}: {out.stderr[-2000:]}")
        r = json.loads(out.stdout.strip().splitlines()[-1])
        base = base or r["query_ms"] + r["batch_ms"]
        ratio = (r["query_ms"] + r["batch_ms"]) / base
        print(
            f"{name:<32} {r['start']:>7} MB {r['end']:>6} {r['second_half']:>+8} "
            f"{r['query_ms']:>8.1f} {r['batch_ms']:>8.1f} {ratio:>6.2f}",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
