"""What the quote of a quote-first draft says about its answer (`RAG_PROMPT_STYLE=quote`).

For every logged draft with a quote (`rag eval` logs it), finds the sentence of the passages
the quote copies and prints, per group (answerable with the reference / answerable without /
unanswerable), how many quotes copy a sentence that exists, how close that sentence is to the
question (e5 cosine, the score retrieval gives sentences) and how many of the question's
words it holds. Then, for thresholds on each, the share of unanswerable questions a quote
check would decline against the answers holding the reference it would lose.

    .venv/bin/python scripts/diag_quote.py artifacts/eval/piaf-s17/answers.jsonl \
        ../shared/data/piaf/piaf-v1.1-dev.json --pipeline "ours, quote"
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

import numpy as np

from evaluation.datasets import load_dataset
from rag.text import analyse, fold, split_sentences

_QUOTE = re.compile(r"^\s*(?:quote|citation)\s*(?:\[(\d+)\])?\s*:?\s*", re.IGNORECASE)


def words(text: str) -> set[str]:
    return set(re.findall(r"\w+", fold(text)))


def quoted_sentence(quote: str, paragraphs: list[str]) -> tuple[str, float]:
    """The sentence of the passages the quote copies, and the share of its words found there."""
    said = words(_QUOTE.sub("", quote))
    best, recall = "", 0.0
    for text in paragraphs:
        for sentence in split_sentences(text):
            r = len(said & words(sentence)) / max(1, len(said))
            if r > recall:
                best, recall = sentence, r
    return best, recall


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("answers", type=Path)
    ap.add_argument("dataset", type=Path)
    ap.add_argument("--pipeline", default="ours, quote")
    args = ap.parse_args()
    dataset = load_dataset(args.dataset)
    text_of = {p.id: p.text for p in dataset.paragraphs}
    rows = [json.loads(x) for x in args.answers.open()]
    rows = [r for r in rows if r["pipeline"] == args.pipeline and r.get("quote")]
    from rag.components import make_embedder
    from rag.settings import Settings

    embedder = make_embedder(Settings())
    found = [quoted_sentence(r["quote"], [text_of[d] for d in r["context_docs"]]) for r in rows]
    q = embedder.embed_queries([r["question"] for r in rows])
    s = embedder.embed_passages([sentence or "-" for sentence, _ in found])
    sims = (np.asarray(q) * np.asarray(s)).sum(axis=1)
    for r, (sentence, recall), sim in zip(rows, found, sims, strict=True):
        asked = set(analyse(r["question"], "fr"))
        r["recall"], r["sim"] = recall, float(sim)
        r["overlap"] = len(asked & set(analyse(sentence, "fr"))) / max(1, len(asked))
    groups = {
        "answerable, holds the reference": [
            r for r in rows if not r["unanswerable"] and r["contains"]
        ],
        "answerable, does not": [r for r in rows if not r["unanswerable"] and not r["contains"]],
        "unanswerable": [r for r in rows if r["unanswerable"]],
    }
    print(f"{len(rows)} drafts with a quote ({args.pipeline})\n")
    print("| group | n | quote found (>= 0.8 of its words) | e5 cosine p50 | question words p50 |")
    print("|---|---|---|---|---|")
    for name, g in groups.items():
        if g:
            print(
                f"| {name} | {len(g)} | {np.mean([r['recall'] >= 0.8 for r in g]):.2f} | "
                f"{np.median([r['sim'] for r in g]):.3f} | "
                f"{np.median([r['overlap'] for r in g]):.2f} |"
            )
    right, unans = groups["answerable, holds the reference"], groups["unanswerable"]
    for key, cuts in (("sim", [0.80, 0.82, 0.83, 0.84, 0.85, 0.86]), ("overlap", [0.2, 0.3, 0.4])):
        print(f"\n{key}: a check declines below the threshold")
        print("| threshold | unanswerable declined | right answers lost |")
        print("|---|---|---|")
        for c in cuts:
            print(
                f"| {c} | {sum(r[key] < c for r in unans)}/{len(unans)} | "
                f"{sum(r[key] < c for r in right)}/{len(right)} |"
            )


if __name__ == "__main__":
    main()
