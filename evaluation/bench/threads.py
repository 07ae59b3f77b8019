"""Threads, open files and memory of a running `rag serve` under bursts of /v1/retrieve calls.

What a server keeps per worker thread shows as a climb, then a plateau.

    RAG_LLM=scripted .venv/bin/rag serve --port 8765 &   # retrieval needs no model
    rag bench threads --url http://127.0.0.1:8765 --pid $! --calls 2400 --concurrency 60

Prints one line per 300 calls: calls so far, threads, open files, RSS.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys

import httpx

from evaluation.bench._measures import rss_mb

QUESTIONS = [
    "Quels sont les quatre objectifs de l’accord ?",
    "What did the agreement say about uranium?",
    "Quand l’accord a-t-il été signé ?",
    "Combien d’euros sont investis ?",
    "Who signed the agreement?",
]


def state(pid: int) -> tuple[int, int, float]:
    threads = len(os.listdir(f"/proc/{pid}/task"))
    files = len(os.listdir(f"/proc/{pid}/fd"))
    return threads, files, rss_mb(pid) / 1024


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="rag bench threads",
        description=__doc__,
        formatter_class=argparse.RawTextHelpFormatter,
    )
    ap.add_argument("--url", required=True)
    ap.add_argument("--pid", type=int, required=True)
    ap.add_argument("--calls", type=int, default=2400)
    ap.add_argument("--concurrency", type=int, default=60)
    asyncio.run(bursts(ap.parse_args(argv)))
    return 0


async def bursts(args: argparse.Namespace) -> None:
    print("| calls | threads | open files | RSS GB |\n|---|---|---|---|")
    t, f, r = state(args.pid)
    print(f"| 0 | {t} | {f} | {r:.2f} |")
    done = 0
    async with httpx.AsyncClient(base_url=args.url, timeout=120) as client:
        while done < args.calls:
            n = min(args.concurrency, args.calls - done)
            calls = [
                client.post(
                    "/v1/retrieve",
                    json={"question": f"{QUESTIONS[(done + i) % len(QUESTIONS)]} ({done + i})"},
                )
                for i in range(n)
            ]
            for response in await asyncio.gather(*calls):
                response.raise_for_status()
            done += n
            if done % 300 < args.concurrency or done == args.calls:
                t, f, r = state(args.pid)
                print(f"| {done} | {t} | {f} | {r:.2f} |", flush=True)


if __name__ == "__main__":
    sys.exit(main())
