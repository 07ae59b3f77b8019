"""Where `rag serve` spends its time: start-up, then the planted questions of bench_scale.

    .venv/bin/python scripts/profile_serve.py --data /tmp/bench-scale/STORE/data

Runs `rag serve` (no LLM) on a kept bench store under py-spy (`pip install py-spy`), waits
until it answers, asks the 300 planted questions on /v1/retrieve, then prints the share of
samples per step of start-up and of `HybridRetriever.retrieve` (by source line). Shares only:
py-spy's sampling costs CPU, so no timing here is a figure.
"""

from __future__ import annotations

import argparse
import collections
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

STEPS = {
    "embed the question": "retrieval.py:97",
    "keyword search (FTS5)": "retrieval.py:100",
    "Chroma query": "retrieval.py:98",
    "passages of keyword hits": "retrieval.py:101",
    "visibility check": "retrieval.py:104",
    "sentence scores and fusion": "retrieval.py:113",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--sentences", default="pooled")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--out", type=Path, default=Path("/tmp/profile-serve.txt"))
    args = parser.parse_args()
    from bench_scale import Corpus

    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    env |= {
        "RAG_DATA_DIR": str(args.data),
        "RAG_LLM": "scripted",
        "RAG_SENTENCE_VECTORS": args.sentences,
    }
    spy = str(Path(sys.executable).parent / "py-spy")
    cmd = [spy, "record", "-r", "100", "--format", "raw", "-o", str(args.out), "--"]
    cmd += [sys.executable, "-m", "api.cli", "serve", "--port", str(args.port)]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{args.port}"
    while True:
        try:
            if httpx.post(f"{url}/v1/retrieve", json={"question": "test ?"}).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.2)
    with httpx.Client(base_url=url, timeout=600) as client:
        for question, _ in Corpus(300).questions:
            client.post("/v1/retrieve", json={"question": question, "top_k": 5})
    serve = subprocess.run(
        ["pgrep", "-f", f"api.cli serve --port {args.port}"], capture_output=True
    )
    for pid in serve.stdout.split():
        os.kill(int(pid), signal.SIGINT)
    proc.wait()

    shares: collections.Counter[str] = collections.Counter()
    total = 0
    for line in args.out.read_text().splitlines():
        stack, _, n = line.rpartition(" ")
        total += int(n)
        if "lifespan" in stack:
            step = next(
                (s for s in ("reconcile", "recover", "warm_up", "make_service") if s in stack),
                "other",
            )
            shares[f"start-up: {step}"] += int(n)
        elif "HybridRetriever.retrieve" in stack:
            step = next((s for s, mark in STEPS.items() if mark in stack), "other")
            shares[f"retrieve: {step}"] += int(n)
    for name, n in sorted(shares.items()):
        print(f"{100 * n / total:5.1f} %  {name}")


if __name__ == "__main__":
    main()
