"""The relevance gate's trade-off: unanswerable questions declined against answerable ones.

Can retrieval alone tell that no passage answers a question (abstain before generating)?
For answerable dev questions and unanswerable ones, over the collection `rag eval` filled,
prints the scores the answer path already has (best question-sentence cosine, best passage
cosine, best keyword score, among the passages the model would read) and, for thresholds on
each, the share of unanswerable questions that would abstain against the share of answerable
ones that would (false abstentions). Thresholds are chosen on `--tune` (the first 30
unanswerable questions and answerable ones not among the 100 `rag eval` answers) and then
read on `--test` (a held-out unanswerable set) without changing them.

    rag bench relevance_gate ../shared/data/piaf/piaf-v1.1-dev.json \
        --tune evaluation/data/unanswerable-fr.jsonl \
        --test evaluation/data/unanswerable-fr-heldout.jsonl
    rag bench relevance_gate ../shared/data/xquad-en/xquad-en-dev.json \
        --tune evaluation/data/unanswerable-en.jsonl \
        --test evaluation/data/unanswerable-en-heldout.jsonl

(the first chose 0.838 for RAG_MIN_RELEVANCE, measured and not made the default; the second
chose RAG_MIN_RELEVANCE_EN's default, 0.817: every XQuAD passage is English, so the best
sentence score is the one the English threshold judges).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from evaluation.datasets import load_dataset, sample
from evaluation.runner import EvalConfig, select_questions
from rag.components import make_service


def scores(service, question: str) -> dict[str, float]:
    """The best of each score among the passages the model would read (fusion normalises
    its own score per question, so only the raw ones can say "nothing here")."""
    passages = service.context(question)
    return {
        name: max((p.scores.get(name, 0.0) for p in passages), default=0.0)
        for name in ("sentence", "dense", "bm25")
    }


def table(name: str, answerable: list[dict], unanswerable: list[dict], cuts: list[float]) -> None:
    print(f"\n{name}: abstains below the threshold")
    print("| threshold | unanswerable abstain | answerable abstain (false) |")
    print("|---|---|---|")
    for t in cuts:
        un = np.mean([s[name] < t for s in unanswerable])
        an = np.mean([s[name] < t for s in answerable])
        print(f"| {t:.3f} | {un:.3f} | {an:.3f} |")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="rag bench relevance_gate",
        description=__doc__,
        formatter_class=argparse.RawTextHelpFormatter,
    )
    ap.add_argument("dataset", type=Path, help="the dataset `rag eval` ingested")
    ap.add_argument("--tune", type=Path, required=True, help="unanswerable questions to tune on")
    ap.add_argument("--test", type=Path, required=True, help="held-out unanswerable questions")
    ap.add_argument("--answerable", type=int, default=300)
    args = ap.parse_args(argv)
    config = EvalConfig(dataset=args.dataset, answer_limit=100)
    service = make_service(config.settings(), llm=object())  # retrieval only: no model call
    dataset = load_dataset(args.dataset)
    asked = {q.id for q in select_questions(dataset, config, None)[1]}  # `rag eval`'s 100
    rest = [q for q in dataset.questions if q.id not in asked and q.has_answers]
    answerable = [scores(service, q.question) for q in sample(rest, args.answerable, 7)]
    language = dataset.language
    tune = [scores(service, q.question) for q in load_dataset(args.tune, language).questions]
    test = [scores(service, q.question) for q in load_dataset(args.test, language).questions]
    for name in ("sentence", "dense", "bm25"):
        values = sorted(s[name] for s in answerable)
        cuts = [values[int(len(values) * f)] for f in (0.02, 0.05, 0.10, 0.15, 0.20)]
        table(name, answerable, tune, cuts)
        print(f"held-out ({args.test.name}), same thresholds:")
        for t in cuts:
            print(f"  {t:.3f}: {np.mean([s[name] < t for s in test]):.3f}")
        for label, group in (("answerable", answerable), ("tune", tune), ("test", test)):
            v = np.array([s[name] for s in group])
            print(
                f"  {label}: p10 {np.percentile(v, 10):.3f} p50 {np.median(v):.3f} "
                f"p90 {np.percentile(v, 90):.3f}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
