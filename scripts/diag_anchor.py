"""Does the sentence that supports an answer mention what the question is about?

For each answer a `rag eval` run logged (not declined, citing a paragraph of the dataset):
the cited paragraph's sentence holding most of the answer's words, with its neighbours, and
the share of the question's content words (Snowball stems, question words left out) found
there. Printed per group: right answers, wrong answers to answerable questions, answers to
unanswerable questions; and how many of each fall below 0.2 / 0.34 / 0.5. A candidate rule for
short answers (`RAG_PROMPT_ANSWERS=short`), which no longer name their subject.

    .venv/bin/python scripts/diag_anchor.py artifacts/eval/piaf-s18b/answers.jsonl \
        ../shared/data/piaf/piaf-v1.1-dev.json --pipeline ours --pipeline "ours, short answers"
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

from evaluation.datasets import load_dataset
from rag.citations import strip_markers
from rag.text import analyse, split_sentences

QUESTION_WORDS = "quel quelle quels quelles qui que quoi combien quand où comment pourquoi est ce"


def anchored_share(row: dict, paragraphs: dict, language: str, skip: set[str]) -> float | None:
    question = [w for w in analyse(row["question"], language) if w not in skip]
    answer = set(analyse(strip_markers(row["answer"]), language))
    best = None
    for doc in row["cited_docs"]:
        p = paragraphs.get(doc)
        if p is None:
            continue
        sentences = split_sentences(p.text)
        i = max(
            range(len(sentences)), key=lambda k: len(answer & set(analyse(sentences[k], language)))
        )
        window = set(analyse(" ".join(sentences[max(0, i - 1) : i + 2]), language))
        share = sum(w in window for w in question) / max(1, len(question))
        best = share if best is None else max(best, share)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("answers", type=Path)
    ap.add_argument("dataset", type=Path)
    ap.add_argument("--pipeline", action="append", default=[])
    args = ap.parse_args()
    dataset = load_dataset(args.dataset)
    paragraphs = {p.id: p for p in dataset.paragraphs}
    skip = set(analyse(QUESTION_WORDS, dataset.language))
    rows = [json.loads(line) for line in args.answers.open()]
    for pipeline in args.pipeline or ["ours"]:
        groups: dict[str, list[float]] = {"right": [], "wrong": [], "unanswerable answered": []}
        for r in rows:
            if r["pipeline"] != pipeline or r.get("abstained") or not r.get("cited_docs"):
                continue
            share = anchored_share(r, paragraphs, dataset.language, skip)
            if share is None:
                continue
            group = (
                "unanswerable answered"
                if r["unanswerable"]
                else ("right" if r["contains"] else "wrong")
            )
            groups[group].append(share)
        print(pipeline)
        for group, v in groups.items():
            if v:
                below = "/".join(str(sum(x < t for x in v)) for t in (0.2, 0.34, 0.5))
                print(
                    f"  {group}: n={len(v)} p50 {statistics.median(v):.2f}, below .2/.34/.5 {below}"
                )


if __name__ == "__main__":
    main()
