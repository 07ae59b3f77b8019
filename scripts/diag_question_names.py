"""Do the passages an answer cites name what the question names?

For each answer a `rag eval` run logged (not declined, citing a paragraph of the dataset):
whether the cited paragraphs (title and text) name every name of the question, as the rule
`question-names` judges it (rag.text.question_names / names_in). Printed per group: right
answers, wrong answers to answerable questions, answers to unanswerable questions, with how
many of each the rule would catch; `-v` lists the caught ones. No model, no index.

    .venv/bin/python scripts/diag_question_names.py artifacts/eval/piaf-s18b/answers.jsonl \
        ../shared/data/piaf/piaf-v1.1-dev.json --pipeline ours

`--gate`: instead, the check the service runs before the model, on the passages retrieval
gives (the collection `rag eval` filled): the share of questions it would decline unread,
for `rag eval`'s 100 answerable questions, 300 answerable ones outside them, and the
unanswerable sets given with `--unanswerable`.

    .venv/bin/python scripts/diag_question_names.py --gate ../shared/data/piaf/piaf-v1.1-dev.json \
        --unanswerable evaluation/data/unanswerable-fr.jsonl \
        --unanswerable evaluation/data/unanswerable-fr-heldout.jsonl
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from evaluation.datasets import load_dataset
from rag.verify.rules import unnamed_subject


def gate(dataset_path: Path, unanswerable: list[Path], verbose: bool) -> None:
    from evaluation.datasets import sample
    from evaluation.runner import EvalConfig, select_questions
    from rag.components import make_service

    config = EvalConfig(dataset=dataset_path, answer_limit=100)
    service = make_service(config.settings(), llm=object())  # retrieval only
    dataset = load_dataset(dataset_path)
    asked = [q for q in select_questions(dataset, config, None)[1] if q.has_answers]
    ids = {q.id for q in asked}
    rest = [q for q in dataset.questions if q.id not in ids and q.has_answers]
    groups = {"rag eval's answerable": asked, "300 other answerable": sample(rest, 300, 7)}
    for path in unanswerable:
        groups[path.name] = load_dataset(path, dataset.language).questions
    for name, questions in groups.items():
        declined = []
        for q in questions:
            passages = service.context(q.question)
            own = [f"{p.chunk.title}\n{p.chunk.text}" for p in passages]
            missing = unnamed_subject(q.question, dataset.language, own)
            if missing is not None:
                declined.append((q.question, missing))
        share = len(declined) / max(1, len(questions))
        print(f"{name}: {len(declined)} of {len(questions)} declined unread ({share:.3f})")
        if verbose:
            for question, missing in declined:
                print(f"    {question} -> {missing!r}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("answers", type=Path, nargs="?")
    ap.add_argument("dataset", type=Path, nargs="?")
    ap.add_argument("--pipeline", action="append", default=[])
    ap.add_argument("--gate", type=Path, help="a dataset: measure the check before the model")
    ap.add_argument("--unanswerable", type=Path, action="append", default=[])
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args()
    if args.gate:
        gate(args.gate, args.unanswerable, args.verbose)
        return
    if args.answers is None or args.dataset is None:
        ap.error("give ANSWERS and DATASET, or --gate DATASET")
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
