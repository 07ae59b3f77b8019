"""Offline look at a support rule, from a `rag eval` run's answers (no model needed):
does a claim's own information (its words that the question does not hold) sit in one
window of sentences of the passage it cites, next to words of the question?

    .venv/bin/python scripts/diag_support.py artifacts/eval/push2/answers.jsonl \
        ../shared/data/piaf/piaf-v1.1-dev.json --pipeline "ours, 2 demos"

Prints, for thresholds of the share of new words found, how many answered unanswerable
questions the rule would turn into abstentions and how many answers holding the reference it
would lose.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

from evaluation.datasets import load_dataset
from rag.text import analyse, answer_claims, split_sentences

_MARKER = re.compile(r"\[(\d+)\]")


def support(claim: str, question: str, passages: list[str], language: str, window: int):
    """(share of the claim's new words in its best window, question words in that window)"""
    asked = set(analyse(question, language))
    new = set(analyse(_MARKER.sub(" ", claim), language)) - asked
    if not new:
        return 1.0, 1
    best = (0.0, 0)
    for text in passages:
        sents = [set(analyse(s, language)) for s in split_sentences(text)]
        for i in range(len(sents)):
            words = set().union(*sents[max(0, i - window) : i + window + 1])
            cand = (len(new & words) / len(new), len(asked & words))
            best = max(best, cand)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("answers", type=Path)
    ap.add_argument("dataset", type=Path)
    ap.add_argument("--extra", type=Path, default=Path("evaluation/data/unanswerable-fr.jsonl"))
    ap.add_argument("--pipeline", default="ours")
    ap.add_argument("--window", type=int, default=1)
    args = ap.parse_args()
    ds = load_dataset(args.dataset)
    by_id = {p.id: p for p in ds.paragraphs}
    lang = ds.language
    rows = [json.loads(x) for x in args.answers.open()]
    rows = [r for r in rows if r["pipeline"] == args.pipeline]
    scored = []
    for r in rows:
        if r["abstained"]:
            continue
        cited = [by_id[d] for d in r["cited_docs"] if d in by_id]
        worst = 1.0
        for a, b in answer_claims(r["answer"]):
            claim = r["answer"][a:b]
            nums = [int(n) for n in _MARKER.findall(claim)]
            texts = [f"{cited[n - 1].title}\n{cited[n - 1].text}" for n in nums if n <= len(cited)]
            if not texts:
                continue
            share, _ = support(claim, r["question"], texts, lang, args.window)
            worst = min(worst, share)
        scored.append((worst, r))
    un = [r for _, r in scored if r["unanswerable"]]
    good = [r for _, r in scored if not r["unanswerable"] and r["contains"]]
    ans = [r for _, r in scored if not r["unanswerable"]]
    print(
        f"{len(rows)} rows; answered: {len(un)} unanswerable, {len(ans)} answerable "
        f"({len(good)} hold the reference)"
    )
    for t in (0.3, 0.4, 0.5, 0.6, 0.67, 0.75):
        caught = sum(1 for s, r in scored if r["unanswerable"] and s < t)
        lost = sum(1 for s, r in scored if not r["unanswerable"] and r["contains"] and s < t)
        wrong = sum(1 for s, r in scored if not r["unanswerable"] and not r["contains"] and s < t)
        print(
            f"min share < {t}: abstains on {caught}/{len(un)} answered unanswerable, "
            f"loses {lost}/{len(good)} right answers, {wrong} wrong answerable ones"
        )
    for s, r in sorted(scored, key=lambda x: x[0])[:12]:
        tag = "UNANS" if r["unanswerable"] else ("RIGHT" if r["contains"] else "wrong")
        print(f"{s:.2f} {tag} {r['question'][:60]!r} -> {r['answer'][:90]!r}")


if __name__ == "__main__":
    main()
