"""PIAF's questions typed in capitals (18, all of one article): the rank of their gold
paragraph in retrieval's top 10, and their ids for `rag eval --split FILE`. Run it at a
commit and at its parent to compare (an experiment, measured and not kept).

    python -m evaluation.bench.shouted /tmp/caps-piaf.txt
    rag eval ../shared/data/piaf/piaf-v1.1-dev.json --split /tmp/caps-piaf.txt \\
        --answers-only --answer-limit 18 --no-baseline --out DIR
"""

from __future__ import annotations

import sys
from pathlib import Path

from evaluation.datasets import load_dataset
from evaluation.rerank import DATASETS
from evaluation.runner import EvalConfig, fill_collection
from rag.components import make_engines
from rag.retrieval import HybridRetriever


def shouted(text: str) -> bool:
    letters = [c for c in text if c.isalpha()]
    return len(letters) >= 8 and sum(c.isupper() for c in letters) > 0.6 * len(letters)


def main(out: Path) -> None:
    config = EvalConfig(dataset=DATASETS["piaf"], progress=False)
    settings, dataset = config.settings(), load_dataset(DATASETS["piaf"])
    engines = make_engines(settings)
    fill_collection(config, dataset, settings, engines)
    retriever = HybridRetriever(engines.store, engines.embedder, engines.index)
    questions = [q for q in dataset.questions if shouted(q.question)]
    out.write_text("".join(q.id + "\n" for q in questions))
    for q in questions:
        docs = [p.chunk.doc_id for p in retriever.retrieve(q.question, 10)]
        print(docs.index(q.gold) + 1 if q.gold in docs else None, q.question)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
