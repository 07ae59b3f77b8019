"""Quote-first drafts for a *tuning* set, logged like `rag eval`'s (scripts/diag_quote.py reads
them): the first 30 unanswerable questions and answerable ones outside the 100 `rag eval`
answers, so that a quote check is chosen here and read on `rag eval`'s held-out run.

    .venv/bin/python scripts/quote_tuning.py ../shared/data/piaf/piaf-v1.1-dev.json \
        --unanswerable evaluation/data/unanswerable-fr.jsonl --answerable 60 \
        --out artifacts/eval/quote-tuning.jsonl
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from evaluation.datasets import add_questions, load_dataset, sample
from evaluation.runner import (
    CountingLLM,
    EvalConfig,
    OursInProcess,
    ingest_dataset,
    run_answers,
    select_questions,
)
from rag.components import make_embedder, make_llm, make_service


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("dataset", type=Path)
    ap.add_argument("--unanswerable", type=Path, required=True)
    ap.add_argument("--answerable", type=int, default=60)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    config = EvalConfig(dataset=args.dataset, answer_limit=100)
    dataset = load_dataset(args.dataset)
    asked = {q.id for q in select_questions(dataset, config, None)[1]}  # `rag eval`'s 100
    rest = [q for q in dataset.questions if q.id not in asked and q.has_answers]
    extra = load_dataset(args.unanswerable, dataset.language)
    dataset = add_questions(dataset, extra)
    questions = sample(rest, args.answerable, 7) + extra.questions
    settings = config.settings().model_copy(update={"prompt_style": "quote"})
    embedder = make_embedder(settings)
    ingest_dataset(dataset, settings, embedder)  # skips what the collection already holds
    service = make_service(settings, embedder=embedder, llm=CountingLLM(make_llm(settings)))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("w", encoding="utf-8") as out:
        run_answers(
            OursInProcess("ours, quote", service),
            questions,
            True,
            lambda r: out.write(json.dumps(r, ensure_ascii=False) + "\n"),
        )


if __name__ == "__main__":
    main()
