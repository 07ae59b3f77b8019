"""How many retrieved passages to give the model: gold-paragraph coverage vs passages read.

For a fixed sample of questions, retrieves the top passages once, then replays each rule:
a fixed top-k, or "every passage scoring at least r times the best one, at least m, at most k"
(rag.retrieval.keep_close_to_best). Prints, per rule, how often the gold paragraph is among the
passages the model would read, how many passages and characters it would read.

    rag bench passage_cutoff ../shared/data/piaf/piaf-v1.1-dev.json
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="rag bench passage_cutoff",
        description=__doc__,
        formatter_class=argparse.RawTextHelpFormatter,
    )
    p.add_argument("dataset", type=Path, help="a dataset `rag eval` reads (SQuAD JSON, JSONL)")
    p.add_argument("--limit", type=int, default=1500, help="questions sampled (seed 1)")
    args = p.parse_args(argv)

    from evaluation.runner import EvalConfig, ingest_dataset, load
    from rag.components import make_engines, make_service
    from rag.llm import ScriptedLLM
    from rag.retrieval import keep_close_to_best

    config = EvalConfig(dataset=args.dataset, progress=False)
    settings = config.settings()
    dataset, _ = load(config)
    engines = make_engines(settings)
    ingest_dataset(dataset, settings, engines, progress=True)
    service = make_service(settings, engines=engines, llm=ScriptedLLM())
    questions = [q for q in dataset.questions if q.gold and not q.unanswerable]
    random.Random(1).shuffle(questions)
    questions = questions[: args.limit]
    ranked = [(q.gold, service.retriever.retrieve(q.question, 6)) for q in questions]

    rules: list[tuple[str, float, int, int]] = [(f"top {k}", 0.0, k, k) for k in (1, 2, 3, 4, 5)]
    rules += [  # a single passage when the best one stands out
        (f"score >= {r} x best, 1..5", r, 1, 5) for r in (0.6, 0.7, 0.8, 0.9)
    ]
    rules += [
        (f"score >= {r} x best, {lo}..{hi}", r, lo, hi)
        for lo in (2, 3)
        for r in (0.5, 0.6, 0.7)
        for hi in (4, 5)
    ]
    print(f"{dataset.name}: {len(ranked)} questions")
    print("| rule | gold among the passages read | passages read | characters read |")
    print("|---|---|---|---|")
    for name, ratio, lo, hi in rules:
        gold = passages = chars = 0
        for gold_id, top in ranked:
            kept = keep_close_to_best(top[:hi], ratio, lo)
            gold += any(p.chunk.doc_id == gold_id for p in kept)
            passages += len(kept)
            chars += sum(len(p.chunk.text) for p in kept)
        n = len(ranked)
        print(f"| {name} | {gold / n:.3f} | {passages / n:.2f} | {chars / n:,.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
