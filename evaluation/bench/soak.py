"""Soak: distinct questions against a running server, its memory sampled over time.

    # once: write the PIAF + XQuAD dev articles (264) as files, then ingest and serve them
    rag bench soak --write-corpus /tmp/soak-corpus
    RAG_DATA_DIR=/tmp/soak-data .venv/bin/rag serve --ingest /tmp/soak-corpus --port 8000
    # then
    rag bench soak --questions 300 --url http://127.0.0.1:8000

Asks `--questions` distinct dev questions (French and English, interleaved, fixed seed) one
after the other through `/v1/ask`, samples the server's resident memory (VmRSS of the process
listening on the URL's port, or `--pid`) every `--interval` seconds, and writes
`soak.csv` (one row per sample) and `soak.png` (RSS over questions answered) into `--out`.
Prints peak, post-warm-up and end RSS and the slope after warm-up. `--max-rss-gb` stops the run
early (the pre-fix server grew past 16 GB on a 24 GB machine).
"""

from __future__ import annotations

import argparse
import csv
import os
import statistics
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlparse

import httpx

from evaluation.bench._measures import pid_listening_on, rss_mb
from evaluation.bench._workloads import ROOT, soak_questions, write_dev_articles


class Sampler(threading.Thread):
    def __init__(self, pid: int, interval: float) -> None:
        super().__init__(daemon=True)
        self.pid, self.interval = pid, interval
        self.done_questions = 0
        self.rows: list[tuple[float, int, float]] = []
        self.stop = threading.Event()
        self.t0 = time.monotonic()

    def sample(self) -> float:
        value = rss_mb(self.pid)
        self.rows.append((time.monotonic() - self.t0, self.done_questions, value))
        return value

    def run(self) -> None:
        while not self.stop.wait(self.interval):
            self.sample()


def plot(
    rows: list[tuple[float, int, float]] | dict[str, list[tuple[float, int, float]]],
    out: Path,
    title: str,
    goal_gb: float,
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    curves = rows if isinstance(rows, dict) else {"server RSS": rows}
    fig, ax = plt.subplots(figsize=(8, 4.5))
    for label, curve in curves.items():
        ax.plot([r[1] for r in curve], [r[2] / 1024 for r in curve], lw=1.2, label=label)
    ax.axhline(goal_gb, color="tab:red", ls="--", lw=1, label=f"goal {goal_gb:g} GB")
    ax.set_xlabel("questions answered")
    ax.set_ylabel("resident memory (GB)")
    ax.set_ylim(bottom=0)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left")
    fig.tight_layout()
    fig.savefig(out, dpi=110)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="rag bench soak", description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--questions", type=int, default=300)
    parser.add_argument("--pid", type=int, default=None, help="server pid (default: by port)")
    parser.add_argument("--interval", type=float, default=3.0, help="seconds between samples")
    parser.add_argument("--warm-up", type=int, default=30, help="questions before 'flat' is judged")
    parser.add_argument("--max-rss-gb", type=float, default=14.0, help="stop early above this")
    parser.add_argument("--api-key", default=os.environ.get("RAG_API_KEY"))
    parser.add_argument("--label", default="", help="added to the plot title")
    parser.add_argument("--out", type=Path, default=ROOT / "artifacts" / "soak")
    parser.add_argument(
        "--write-corpus",
        type=Path,
        default=None,
        metavar="DIR",
        help="write the dev articles as files into DIR and exit",
    )
    parser.add_argument(
        "--plot",
        nargs="+",
        metavar="CSV=LABEL",
        default=None,
        help="only draw these runs' CSVs on one plot (OUT/soak-compare.png)",
    )
    args = parser.parse_args(argv)

    if args.plot:
        curves = {}
        for spec in args.plot:
            path, _, label = spec.partition("=")
            with open(path) as f:
                curves[label or path] = [
                    (float(r["seconds"]), int(r["questions_answered"]), float(r["rss_mb"]))
                    for r in csv.DictReader(f)
                ]
        args.out.mkdir(parents=True, exist_ok=True)
        plot(curves, args.out / "soak-compare.png", "Server RSS over distinct questions", 4.0)
        print(f"wrote {args.out / 'soak-compare.png'}")
        return 0

    if args.write_corpus:
        print(f"wrote {write_dev_articles(args.write_corpus)} articles to {args.write_corpus}")
        return 0

    headers = {"Authorization": f"Bearer {args.api_key}"} if args.api_key else {}
    client = httpx.Client(base_url=args.url, headers=headers, timeout=600)
    health = client.get("/healthz").json()
    pid = args.pid or pid_listening_on(urlparse(args.url).port or 80)
    print(
        f"server pid {pid}: {health['llm']} + {health['embedder']}, "
        f"{health['passages']} passages, {health['documents']} documents"
    )
    args.out.mkdir(parents=True, exist_ok=True)
    sampler = Sampler(pid, args.interval)
    start_rss = sampler.sample()
    sampler.start()
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    stopped_early = ""
    qs = soak_questions(args.questions)
    for i, q in enumerate(qs, 1):
        t = time.perf_counter()
        r = client.post("/v1/ask", json={"question": q})
        latencies.append(time.perf_counter() - t)
        statuses[r.status_code] = statuses.get(r.status_code, 0) + 1
        sampler.done_questions = i
        now = sampler.sample()
        if i % 10 == 0 or i == len(qs):
            print(
                f"  {i:4d}/{len(qs)}  RSS {now / 1024:5.2f} GB  "
                f"last answer {latencies[-1]:5.1f} s  statuses {statuses}",
                flush=True,
            )
        if now > args.max_rss_gb * 1024:
            stopped_early = f"stopped after {i} questions: RSS {now / 1024:.1f} GB > --max-rss-gb"
            break
    sampler.stop.set()
    sampler.join()
    rows = sampler.rows

    with (args.out / "soak.csv").open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["seconds", "questions_answered", "rss_mb"])
        w.writerows((round(s, 1), q, round(m, 1)) for s, q, m in rows)
    title = f"RSS over {sampler.done_questions} questions {args.label}".strip()
    plot(rows, args.out / "soak.png", title, goal_gb=4.0)

    peak = max(r[2] for r in rows)
    after = [r for r in rows if r[1] >= args.warm_up]
    print(f"\nquestions answered: {sampler.done_questions}, HTTP statuses {statuses}")
    if stopped_early:
        print(stopped_early)
    print(
        f"RSS start {start_rss / 1024:.2f} GB, peak {peak / 1024:.2f} GB, "
        f"end {rows[-1][2] / 1024:.2f} GB"
    )
    if len(after) >= 2:
        xs, ys = [r[1] for r in after], [r[2] for r in after]
        slope = statistics.linear_regression(xs, ys).slope if len(set(xs)) > 1 else 0.0
        print(
            f"after {args.warm_up} questions: min {min(ys) / 1024:.2f} GB, max "
            f"{max(ys) / 1024:.2f} GB, slope {slope * 100:+.1f} MB per 100 questions"
        )
    lat = sorted(latencies)
    print(
        f"answer time p50 {statistics.median(lat):.1f} s, "
        f"p95 {lat[int(0.95 * (len(lat) - 1))]:.1f} s"
    )
    print(f"wrote {args.out / 'soak.csv'} and {args.out / 'soak.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
