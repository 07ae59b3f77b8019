"""Answer latency against a running service: `/v1/ask` and a two-turn `/v1/chat`.

    rag bench latency --url http://127.0.0.1:8000 --runs 5

Prints the median (and min/max) of time to first token and total time, client-side, with the
server's own timings and prompt token counts, plus a verbatim sample of streamed events.
Runs are sequential: one CPU, one model, nothing else should be running.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time

import httpx

QUESTIONS = {
    "en": ("What are the agreement's four objectives?", "Which one is listed first?"),
    "fr": ("Quels sont les quatre objectifs de l’accord ?", "Lequel est cité en premier ?"),
}


def stream(url: str, path: str, payload: dict, keep: list[str] | None = None) -> dict:
    """POST with stream=true; returns client-side ttft/total and the final `done` payload."""
    t0 = time.perf_counter()
    ttft = None
    done: dict = {}
    event = ""
    with httpx.stream("POST", url + path, json={**payload, "stream": True}, timeout=600) as r:
        r.raise_for_status()
        for line in r.iter_lines():
            if keep is not None and line:
                keep.append(line)
            if line.startswith("event:"):
                event = line[6:].strip()
            elif line.startswith("data:"):
                if event == "token" and ttft is None:
                    ttft = time.perf_counter() - t0
                if event == "done":
                    done = json.loads(line[5:])
    return {"ttft_s": ttft, "total_s": time.perf_counter() - t0, "done": done}


def summarise(name: str, runs: list[dict]) -> None:
    def stat(key: str) -> str:
        values = [r[key] for r in runs if r[key] is not None]
        return (
            f"median {statistics.median(values):6.2f}s "
            f"(min {min(values):.2f}, max {max(values):.2f})"
        )

    tokens = [r["done"].get("timings", {}).get("prompt_tokens") for r in runs]
    print(f"{name:<34} ttft {stat('ttft_s')}  total {stat('total_s')}  prompt tokens {tokens}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="rag bench latency",
        description=__doc__,
        formatter_class=argparse.RawTextHelpFormatter,
    )
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--lang", choices=["en", "fr", "both"], default="both")
    args = parser.parse_args(argv)
    langs = ["en", "fr"] if args.lang == "both" else [args.lang]
    health = httpx.get(args.url + "/healthz").json()
    print(f"service: {health['llm']} + {health['embedder']}, {health['passages']} passages")
    sample: list[str] = []
    for lang in langs:
        first, follow = QUESTIONS[lang]
        asks = [stream(args.url, "/v1/ask", {"question": first}) for _ in range(args.runs)]
        summarise(f"/v1/ask [{lang}]", asks)
        turns1, turns2 = [], []
        for i in range(args.runs):
            one = stream(args.url, "/v1/chat", {"messages": [{"role": "user", "content": first}]})
            history = [
                {"role": "user", "content": first},
                {"role": "assistant", "content": one["done"]["answer"]},
                {"role": "user", "content": follow},
            ]
            keep = sample if (i == 0 and lang == langs[0]) else None
            two = stream(args.url, "/v1/chat", {"messages": history}, keep)
            turns1.append(one)
            turns2.append(two)
        summarise(f"/v1/chat turn 1 [{lang}]", turns1)
        summarise(f"/v1/chat turn 2 (follow-up) [{lang}]", turns2)
        both = [
            {"ttft_s": a["ttft_s"], "total_s": a["total_s"] + b["total_s"], "done": b["done"]}
            for a, b in zip(turns1, turns2, strict=True)
        ]
        summarise(f"/v1/chat two turns, total [{lang}]", both)
        print(f"  answer 1: {turns1[0]['done']['answer']!r}")
        print(f"  searched: {turns2[0]['done']['searched']!r}")
        print(f"  answer 2: {turns2[0]['done']['answer']!r}")
    print("\nSample of streamed events (follow-up turn):")
    for line in [*sample[:14], "...", *sample[-4:]]:
        print("  " + (line if len(line) < 300 else line[:297] + "..."))
    return 0


if __name__ == "__main__":
    sys.exit(main())
