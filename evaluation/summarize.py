"""Summarise the answers a `rag eval --out DIR` run logged (DIR/answers.jsonl), per pipeline,
with the same metrics as its report: for a run stopped before its report was written.

    .venv/bin/python -m evaluation.summarize artifacts/eval/push1-answers.jsonl [--common]

`--common`: only the questions every pipeline answered (a stopped run's last row is partial).
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path

from evaluation.runner import summarize_answers

COLUMNS = [
    ("contains", "contains_answer"),
    ("F1", "f1"),
    ("cites gold", "cites_gold"),
    ("abstains, unanswerable", "abstention_correct"),
    ("abstains, answerable", "false_abstention"),
    ("declined, the draft held the answer", "declined_with_reference"),
    ("first token p50 ms", "first_token_p50_ms"),
    ("first text p50 ms", "first_text_p50_ms"),
    ("answer p50 ms", "latency_p50_ms"),
    ("prompt tokens", "prompt_tokens_mean"),
    ("read", "prompt_tokens_read_mean"),
]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("answers", type=Path)
    ap.add_argument("--common", action="store_true")
    args = ap.parse_args()
    rows: dict[str, list[dict]] = defaultdict(list)
    for line in args.answers.read_text().splitlines():
        record = json.loads(line)
        rows[record["pipeline"]].append(record)
    if args.common:
        ids = set.intersection(*({r["id"] for r in rs} for rs in rows.values()))
        rows = defaultdict(list, {k: [r for r in rs if r["id"] in ids] for k, rs in rows.items()})
    print("| pipeline | questions | " + " | ".join(name for name, _ in COLUMNS) + " |")
    print("|---" * (len(COLUMNS) + 2) + "|")
    for name, records in rows.items():
        s = summarize_answers(records)
        cells = []
        for _, key in COLUMNS:
            v = s.get(key)
            cells.append("–" if v is None else f"{v:.3f}" if v < 2 else f"{v:,.0f}")
        print(f"| {name} | {s['n']} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
