"""Load against a running server: many concurrent askers, then many concurrent retrievers.

    rag bench load --url http://127.0.0.1:8000 --askers 50 --duration 180

Phase 1: `--askers` clients ask distinct dev questions (`/v1/ask`, not streamed) for
`--duration` seconds. A client told 503 waits `Retry-After` (plus up to 1 s of jitter) and
asks the same question again; a request without an answer after `--timeout` counts as hung.
Meanwhile `/healthz` is probed every second and the server's RSS sampled.
Phase 2: `--retrievers` clients call `/v1/retrieve` for `--retrieve-duration` seconds.
Prints counts and latencies; writes `load.json` into `--out`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

import httpx

from evaluation.bench._measures import pct, pid_listening_on, rss_mb
from evaluation.bench._workloads import ROOT, soak_questions


class Stats:
    def __init__(self) -> None:
        self.statuses: dict[str, int] = {}
        self.answer_s: list[float] = []  # first attempt -> answer, waits included
        self.request_s: list[float] = []  # each request
        self.retry_after: list[int] = []
        self.hung = 0
        self.missing_retry_after = 0
        self.answered = 0

    def count(self, key: str) -> None:
        self.statuses[key] = self.statuses.get(key, 0) + 1


async def asker(
    client: httpx.AsyncClient, qs: list[str], deadline: float, stats: Stats, timeout: float
) -> None:
    while time.monotonic() < deadline and qs:
        question = qs.pop()
        first = time.monotonic()
        while True:
            t = time.monotonic()
            try:
                r = await client.post("/v1/ask", json={"question": question}, timeout=timeout)
            except httpx.TimeoutException:
                stats.hung += 1
                stats.count("timeout")
                break
            except httpx.HTTPError as err:
                stats.count(type(err).__name__)
                break
            stats.request_s.append(time.monotonic() - t)
            stats.count(str(r.status_code))
            if r.status_code == 200:
                stats.answered += 1
                stats.answer_s.append(time.monotonic() - first)
                break
            if r.status_code != 503:
                break
            value = r.headers.get("retry-after", "")
            if not value.isdigit():
                stats.missing_retry_after += 1
                break
            stats.retry_after.append(int(value))
            if time.monotonic() + int(value) > deadline:
                break  # the run ends before the suggested retry
            await asyncio.sleep(int(value) + random.random())


async def prober(client: httpx.AsyncClient, stop: asyncio.Event, out: list[float]) -> None:
    while not stop.is_set():
        t = time.monotonic()
        try:
            r = await client.get("/healthz", timeout=10)
            out.append((time.monotonic() - t) * 1000 if r.status_code == 200 else float("inf"))
        except httpx.HTTPError:
            out.append(float("inf"))
        await asyncio.sleep(max(0.0, 1.0 - (time.monotonic() - t)))


async def sampler(pid: int, stop: asyncio.Event, out: list[float]) -> None:
    while not stop.is_set():
        out.append(rss_mb(pid))
        await asyncio.sleep(2)


async def retriever(
    client: httpx.AsyncClient, qs: list[str], deadline: float, out: list[float], statuses: dict
) -> None:
    while time.monotonic() < deadline:
        t = time.monotonic()
        try:
            r = await client.post("/v1/retrieve", json={"question": random.choice(qs)}, timeout=60)
            key = str(r.status_code)
            if r.status_code == 200:
                out.append((time.monotonic() - t) * 1000)
        except httpx.HTTPError as err:
            key = type(err).__name__
        statuses[key] = statuses.get(key, 0) + 1


async def run(args: argparse.Namespace) -> dict:
    headers = {"Authorization": f"Bearer {args.api_key}"} if args.api_key else {}
    limits = httpx.Limits(max_connections=args.askers + args.retrievers + 10)
    async with httpx.AsyncClient(base_url=args.url, headers=headers, limits=limits) as client:
        health = (await client.get("/healthz")).json()
        pid = args.pid or pid_listening_on(urlparse(args.url).port or 80)
        print(
            f"server pid {pid}: {health['llm']} + {health['embedder']}, "
            f"{health['passages']} passages; queue {health['generations']}"
        )
        qs = soak_questions(args.askers * 20)
        random.Random(5).shuffle(qs)
        retrieve_qs = list(qs)  # askers consume theirs
        stats, probes, rss = Stats(), [], []
        stop = asyncio.Event()
        background = [
            asyncio.create_task(prober(client, stop, probes)),
            asyncio.create_task(sampler(pid, stop, rss)),
        ]
        t0 = time.monotonic()
        deadline = t0 + args.duration
        print(f"phase 1: {args.askers} askers for {args.duration} s (timeout {args.timeout} s)")
        await asyncio.gather(
            *(asker(client, qs, deadline, stats, args.timeout) for _ in range(args.askers))
        )
        ask_wall = time.monotonic() - t0
        stop.set()
        await asyncio.gather(*background)

        print(f"phase 2: {args.retrievers} retrievers for {args.retrieve_duration} s")
        retrieve_ms: list[float] = []
        retrieve_status: dict[str, int] = {}
        deadline = time.monotonic() + args.retrieve_duration
        await asyncio.gather(
            *(
                retriever(client, retrieve_qs, deadline, retrieve_ms, retrieve_status)
                for _ in range(args.retrievers)
            )
        )
        after = (await client.get("/healthz")).json()["generations"]
    finite = [p for p in probes if p != float("inf")]
    return {
        "askers": args.askers,
        "duration_s": round(ask_wall, 1),
        "answered": stats.answered,
        "statuses": stats.statuses,
        "hung": stats.hung,
        "503_without_retry_after": stats.missing_retry_after,
        "answer_s_p50": round(pct(stats.answer_s, 0.5), 1),
        "answer_s_p95": round(pct(stats.answer_s, 0.95), 1),
        "answer_s_max": round(max(stats.answer_s, default=float("nan")), 1),
        "request_s_max": round(max(stats.request_s, default=float("nan")), 1),
        "retry_after_values": sorted(set(stats.retry_after)),
        "retry_after_median": statistics.median(stats.retry_after) if stats.retry_after else None,
        "healthz_probes": len(probes),
        "healthz_failed": len(probes) - len(finite),
        "healthz_ms_p50": round(pct(finite, 0.5), 1),
        "healthz_ms_p95": round(pct(finite, 0.95), 1),
        "healthz_ms_max": round(max(finite, default=float("nan")), 1),
        "healthz_over_200ms": sum(p > 200 for p in probes),
        "rss_gb_start": round(rss[0] / 1024, 2) if rss else None,
        "rss_gb_max": round(max(rss) / 1024, 2) if rss else None,
        "rss_gb_end": round(rss[-1] / 1024, 2) if rss else None,
        "retrievers": args.retrievers,
        "retrieve_statuses": retrieve_status,
        "retrieve_requests": len(retrieve_ms),
        "retrieve_per_s": round(len(retrieve_ms) / args.retrieve_duration, 1),
        "retrieve_ms_p50": round(pct(retrieve_ms, 0.5), 1),
        "retrieve_ms_p95": round(pct(retrieve_ms, 0.95), 1),
        "generations_after": after,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="rag bench load", description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--askers", type=int, default=50)
    parser.add_argument("--duration", type=float, default=180)
    parser.add_argument(
        "--timeout",
        type=float,
        default=300,
        help="a request without an answer after this many seconds counts as hung",
    )
    parser.add_argument("--retrievers", type=int, default=50)
    parser.add_argument("--retrieve-duration", type=float, default=60)
    parser.add_argument("--pid", type=int, default=None)
    parser.add_argument("--api-key", default=os.environ.get("RAG_API_KEY"))
    parser.add_argument("--out", type=Path, default=ROOT / "artifacts" / "load")
    args = parser.parse_args(argv)
    result = asyncio.run(run(args))
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "load.json").write_text(json.dumps(result, indent=2))
    width = max(map(len, result))
    for key, value in result.items():
        print(f"{key:<{width}}  {value}")
    print(f"wrote {args.out / 'load.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
