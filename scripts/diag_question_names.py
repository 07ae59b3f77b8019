"""Do the passages an answer cites name what the question names?

For each answer a `rag eval` run logged (not declined, citing a paragraph of the dataset):
whether the cited paragraphs (title and text) name every name of the question, as the rule
`question-names` judges it (rag.text.question_names / names_in). Printed per group: right
answers, wrong answers to answerable questions, answers to unanswerable questions, with how
many of each the rule would catch; `-v` lists the caught ones. No model, no index.

    .venv/bin/python scripts/diag_question_names.py artifacts/eval/piaf-s18b/answers.jsonl \
        ../shared/data/piaf/piaf-v1.1-dev.json --pipeline ours
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from evaluation.datasets import load_dataset
from rag.verify.rules import unnamed_subject


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("answers", type=Path)
    ap.add_argument("dataset", type=Path)
    ap.add_argument("--pipeline", action="append", default=[])
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args()
    dataset = load_dataset(args.dataset)
    paragraphs = {p.id: p for p in dataset.paragraphs}
    rows = [json.loads(line) for line in args.answers.open()]
    for pipeline in args.pipeline or ["ours"]:
        groups = {"right": [0, 0], "wrong": [0, 0], "unanswerable answered": [0, 0]}
        caught = []
        for r in rows:
            if r["pipeline"] != pipeline or r.get("abstained") or not r.get("cited_docs"):
                continue
            cited = [f"{paragraphs[d].title}\n{paragraphs[d].text}" for d in r["cited_docs"]]
            missing = unnamed_subject(r["question"], dataset.language, cited)
            group = (
                "unanswerable answered"
                if r["unanswerable"]
                else ("right" if r["contains"] else "wrong")
            )
            groups[group][0] += 1
            groups[group][1] += missing is not None
            if missing is not None:
                caught.append((group, r["question"], missing, r["answer"]))
        print(pipeline)
        for group, (n, k) in groups.items():
            print(f"  {group}: {k} of {n} cite passages that miss a name of the question")
        if args.verbose:
            for group, question, missing, answer in caught:
                print(f"    [{group}] {question} -> {missing!r}: {answer[:100]}")


if __name__ == "__main__":
    main()
