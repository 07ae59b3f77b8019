"""Would a signal tell an answer made up for an unanswerable question from a right one?

Reads the answers `rag eval --out` logged (French, PIAF) and, for every answered question of
one half (answerable ones of that half, unanswerable ones of its set: ids `unans-fr-NN` and
`unans-fr-hNN` tune, `unans-fr-cNN` check), computes one signal of its answer against the
passages it cites:

- `coverage`: share of the question's word stems (names aside) the cited passages hold;
- `similarity`: the lowest, over its claims of 4 words or more, of the best e5 similarity
  between the claim and a sentence or clause of its cited passages;
- `judge`: the reader model asked "does the passage say what the proposed answer says?",
  log P(oui) - log P(non) of its first token (the model the service answers with).

Prints, per kind (right, wrong, UNANS = answered unanswerable), the lowest values and how
many of each fall under a range of thresholds:

    python -m evaluation.bench.unanswerable_signals similarity tune \
        artifacts/eval/piaf-tune91 artifacts/eval/piaf-v3 ...
"""

from __future__ import annotations

import argparse
import json
import random
import re
from collections import defaultdict
from pathlib import Path

import numpy as np

from evaluation.datasets import load_dataset
from rag.settings import PROJECT_ROOT, Settings
from rag.text import analyse

PIAF = PROJECT_ROOT.parent / "shared" / "data" / "piaf" / "piaf-v1.1-dev.json"
SPLITS = PROJECT_ROOT / "evaluation" / "splits"
_MARK = re.compile(r"\s*\[(\d+)\]")
_NAME = re.compile(r"\b[A-ZÀ-ÖØ-Þ][\w’'-]+")
THRESHOLDS = {
    "coverage": (0.2, 0.3, 0.4, 0.5, 0.6),
    "similarity": (0.87, 0.875, 0.88, 0.885, 0.89, 0.895),
    "judge": (-2.0, -1.5, -1.0, -0.5, 0.0),
}


def answered(runs: list[Path], half: str) -> list[dict]:
    ids = {x.strip() for x in (SPLITS / f"piaf-v1.1-dev.{half}.txt").open() if x[:1] == "p"}
    rows: dict[str, dict] = {}
    for run in runs:
        for line in (run / "answers.jsonl").open():
            r = json.loads(line)
            if r["pipeline"] != "ours" or r["abstained"] or not r["cited_docs"]:
                continue
            if r["unanswerable"]:
                if "-fr-" not in r["id"] or ("-fr-c" in r["id"]) != (half == "check"):
                    continue
            elif r["id"] not in ids:
                continue
            rows.setdefault(r["id"], r)
    return list(rows.values())


def kind(r: dict) -> str:
    return "UNANS" if r["unanswerable"] else ("right" if r["contains"] else "wrong")


def coverage(r: dict, cited: list[str], _state: dict) -> float | None:
    names = set(analyse(" ".join(_NAME.findall(r["question"][1:])), "fr"))
    asked = set(analyse(r["question"], "fr")) - names
    held = set().union(*(analyse(t, "fr") for t in cited))
    return len(asked & held) / len(asked) if asked else None


def similarity(r: dict, cited: list[str], state: dict) -> float | None:
    from rag.verify.rules import comparable_units

    if "embedder" not in state:
        from rag.components import make_embedder

        state["embedder"] = make_embedder(Settings().models)
    units = [u for t in cited for u in comparable_units(t)]
    claims = [_MARK.sub("", s).strip() for s in re.split(r"(?<=[.!?])\s+|\n", r["answer"])]
    claims = [c for c in claims if len(c.split()) >= 4]
    if not units or not claims:
        return None
    vectors = np.asarray(state["embedder"].embed_queries([*claims, *units]), dtype=np.float32)
    return float((vectors[len(claims) :] @ vectors[: len(claims)].T).max(axis=0).min())


def judge(r: dict, cited: list[str], state: dict) -> float | None:
    if "llm" not in state:
        from llama_cpp import Llama

        llm = Llama(str(Settings().models.llm_model_path), n_ctx=4096, n_threads=2, verbose=False)
        words = ("oui", "Oui", "non", "Non")
        first = {w: llm.tokenize(w.encode(), add_bos=False)[0] for w in words}
        state["llm"], state["first"] = llm, first
    llm, first = state["llm"], state["first"]
    claim = _MARK.sub("", r["answer"]).strip()
    user = (
        "Passage :\n" + "\n\n".join(cited) + f"\n\nQuestion : {r['question']}\n"
        f"Réponse proposée : {claim}\n\nLe passage dit-il ce que dit la réponse proposée ? "
        "Réponds seulement par oui ou par non."
    )
    prompt = (
        "<|im_start|>system\nTu vérifies si une réponse est écrite dans un passage.<|im_end|>\n"
        f"<|im_start|>user\n{user}<|im_end|>\n<|im_start|>assistant\n"
    )
    llm.reset()
    llm.eval(llm.tokenize(prompt.encode(), add_bos=False, special=True))
    logits = np.ctypeslib.as_array(llm._ctx.get_logits(), shape=(llm._n_vocab,))
    lp = logits - np.logaddexp.reduce(logits)
    yes = np.logaddexp(lp[first["oui"]], lp[first["Oui"]])
    return float(yes - np.logaddexp(lp[first["non"]], lp[first["Non"]]))


SIGNALS = {"coverage": coverage, "similarity": similarity, "judge": judge}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m evaluation.bench.unanswerable_signals")
    ap.add_argument("signal", choices=sorted(SIGNALS))
    ap.add_argument("half", choices=["tune", "check"])
    ap.add_argument("runs", type=Path, nargs="+", help="`rag eval --out` directories")
    ap.add_argument("--sample", type=int, default=0, help="right answers drawn (0: all)")
    args = ap.parse_args(argv)
    paragraphs = {p.id: p.text for p in load_dataset(PIAF).paragraphs}
    rows = answered(args.runs, args.half)
    if args.sample:  # the judge costs seconds an answer: every unanswerable, a sample of others
        rng = random.Random(5)
        by_kind = defaultdict(list)
        for r in rows:
            by_kind[kind(r)].append(r)
        rows = by_kind["UNANS"] + [
            x
            for k, n in (("right", args.sample), ("wrong", args.sample // 2))
            for x in rng.sample(by_kind[k], min(n, len(by_kind[k])))
        ]
    values: dict[str, list[float]] = defaultdict(list)
    state: dict = {}
    for r in rows:
        cited = [paragraphs[d] for d in r["cited_docs"] if d in paragraphs]
        v = SIGNALS[args.signal](r, cited, state) if cited else None
        if v is None:
            continue
        values[kind(r)].append(v)
        print(f"{kind(r):5} {v:+.3f} {r['question'][:60]!r} | {r['answer'][:70]!r}", flush=True)
    for k, vs in sorted(values.items()):
        low = " ".join(f"{x:.3f}" for x in sorted(vs)[:10])
        print(f"{k}: {len(vs)} answered, lowest {low}")
    for t in THRESHOLDS[args.signal]:
        under = {k: sum(x < t for x in vs) for k, vs in sorted(values.items())}
        print(f"under {t}: {under}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
