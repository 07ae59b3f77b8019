"""Drafts that only gave the question back, in a `rag eval` run (its logged whole-answer
`restates-question` decision): would the passages' sentence closest to the question have
answered? Each such row's context paragraphs are split into sentences, embedded as
ingestion embeds them, the closest to the question is verified as a draft, and its answer
compared with the references (an experiment, measured and not kept: paragraphs stand in for
the run's chunks).

    python -m evaluation.bench.restated_quote artifacts/eval/piaf-tune91 \\
        ../shared/data/piaf/piaf-v1.1-dev.json evaluation/data/unanswerable-fr.jsonl
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from evaluation.datasets import load_dataset
from evaluation.metrics import contains_answer
from rag.components import make_embedder
from rag.schema import Chunk, Passage
from rag.settings import Settings
from rag.text import sentence_spans
from rag.verify import verify


def main(run: Path, dataset_path: Path, extra: Path) -> None:
    embedder = make_embedder(Settings().models)
    dataset = load_dataset(dataset_path)
    language = dataset.language
    by_id = {p.id: p for p in dataset.paragraphs}
    by_id |= {p.id: p for p in load_dataset(extra, language).paragraphs}
    rows = [json.loads(x) for x in (run / "answers.jsonl").open()]
    seen = answered = held = 0
    for r in rows:
        decisions = r.get("decisions") or []
        if not any(d["rule"] == "restates-question" and not d["claim"] for d in decisions):
            continue
        passages, best = [], (-2.0, 0, "")
        q = embedder.embed_queries([r["question"]])[0]
        for k, p in enumerate((by_id[d] for d in r["context_docs"] if d in by_id), 1):
            spans = sentence_spans(p.text)
            vectors = embedder.embed_passages([f"{p.title}\n{p.text[a:b]}" for a, b in spans])
            i = int(np.argmax(vectors @ q))
            if float(vectors[i] @ q) > best[0]:
                best = (float(vectors[i] @ q), k, p.text[spans[i][0] : spans[i][1]])
            chunk = Chunk(p.id, p.id, p.text, 0, len(p.text), p.title, language=p.language)
            passages.append(Passage(chunk, 1.0))
        v = verify(f"{best[2]} [{best[1]}]", passages, r["question"], language, None, embedder)
        right = not v.abstained and contains_answer(v.text, r["references"]) > 0
        seen, answered, held = seen + 1, answered + (not v.abstained), held + right
        kind = "unanswerable" if r["unanswerable"] else ("holds" if right else "misses")
        print(f"{kind:12} {r['question'][:60]!r}: {v.text[:100]!r}")
    print(
        f"{run.name}: {seen} drafts gave the question back; quoted: {answered} answered, "
        f"{held} hold a reference"
    )


if __name__ == "__main__":
    main(*map(Path, sys.argv[1:4]))
