"""How similar unrelated English text looks to French passages, by multilingual-e5.

The floor under `RAG_VERIFY_CROSSLINGUAL_CITE_MINIMUM` and `..._MINIMUM_SHORT` (an uncited
claim across languages cites the passage holding its most similar sentence or clause only
above).

    rag bench crosslingual_null --samples 300

Each sample: an English XQuAD sentence (6 words or more), or a fragment (a clause of 3-5
words, as a list item is), against the sentences and clauses of 5 random PIAF paragraphs
(rag.verify.rules.comparable_units), compared as the service does (both embedded as
queries). Prints percentiles of the best similarity and the share of samples at or above
each threshold: a claim that reached the threshold here would have been cited to a passage
that does not say it.
"""

from __future__ import annotations

import argparse
import json
import random
import sys

import numpy as np

from evaluation.bench._workloads import PIAF_DEV, XQUAD_DEV, require
from rag.components import make_embedder
from rag.settings import Settings
from rag.text import split_sentences
from rag.verify.rules import CLAUSE, comparable_units


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="rag bench crosslingual_null",
        description=__doc__,
        formatter_class=argparse.RawTextHelpFormatter,
    )
    ap.add_argument("--samples", type=int, default=300)
    ap.add_argument("--passages", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    require(PIAF_DEV, XQUAD_DEV)
    rnd = random.Random(args.seed)
    piaf = json.loads(PIAF_DEV.read_text())
    xquad = json.loads(XQUAD_DEV.read_text())
    french = [p["context"] for a in piaf["data"] for p in a["paragraphs"]]
    sentences = [
        s for a in xquad["data"] for p in a["paragraphs"] for s in split_sentences(p["context"])
    ]
    pools = {
        "sentences (6+ words)": [s for s in sentences if len(s.split()) >= 6],
        "fragments (3-5 words)": [
            x.strip() for s in sentences for x in CLAUSE.split(s) if 3 <= len(x.split()) <= 5
        ],
    }
    embedder = make_embedder(Settings().models)
    for name, pool in pools.items():
        claims = rnd.sample(pool, args.samples)
        claim_vectors = np.asarray(embedder.embed_queries(claims), dtype=np.float32)
        best = []
        for vector in claim_vectors:
            units = [u for p in rnd.sample(french, args.passages) for u in comparable_units(p)]
            unit_vectors = np.asarray(embedder.embed_queries(units), dtype=np.float32)
            best.append(float((unit_vectors @ vector).max()))
        scores = np.asarray(best)
        print(f"{args.samples} English {name}, each against {args.passages} French passages")
        for q in (50, 90, 95, 99, 100):
            print(f"  p{q:<3} best similarity {np.percentile(scores, q):.3f}")
        for t in (0.85, 0.86, 0.87, 0.88, 0.90, 0.91):
            print(f"  at or above {t:.2f}: {float((scores >= t).mean()):.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
