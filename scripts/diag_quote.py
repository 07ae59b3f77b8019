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
from pathlib import Path

import numpy as np

from evaluation.datasets import load_dataset
from rag.text import analyse
from rag.verify.quoted import quoted_sentence, share_in


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
    in_passage = [max(share_in(r["quote"], text_of[d]) for d in r["context_docs"]) for r in rows]
    q = embedder.embed_queries([r["question"] for r in rows])
    s = embedder.embed_passages([sentence or "-" for sentence, _ in found])
    sims = (np.asarray(q) * np.asarray(s)).sum(axis=1)
    for r, (sentence, recall), passage, sim in zip(rows, found, in_passage, sims, strict=True):
        asked = set(analyse(r["question"], "fr"))
        r["recall"], r["passage"], r["sim"] = recall, passage, float(sim)
        r["overlap"] = len(asked & set(analyse(sentence, "fr"))) / max(1, len(asked))
    groups = {
        "answerable, holds the reference": [
            r for r in rows if not r["unanswerable"] and r["contains"]
        ],
        "answerable, does not": [r for r in rows if not r["unanswerable"] and not r["contains"]],
        "unanswerable": [r for r in rows if r["unanswerable"]],
    }
    print(f"{len(rows)} drafts with a quote ({args.pipeline})\n")
    print(
        "| group | n | quote's words in one sentence: p25 / p50 / share >= 0.8 | in one passage "
        "p50 | e5 cosine p50 | question words p50 |"
    )
    print("|---|---|---|---|---|---|")
    for name, g in groups.items():
        if g:
            print(
                f"| {name} | {len(g)} | {np.percentile([r['recall'] for r in g], 25):.2f} / "
                f"{np.median([r['recall'] for r in g]):.2f} / "
                f"{np.mean([r['recall'] >= 0.8 for r in g]):.2f} | "
                f"{np.median([r['passage'] for r in g]):.2f} | "
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
