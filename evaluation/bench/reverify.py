"""Re-run today's verification stage on the drafts a `rag eval` run logged, without the model.

What a change to the rules does to the same generations:

    rag bench reverify artifacts/eval/piaf-s16/answers.jsonl \
        ../shared/data/piaf/piaf-v1.1-dev.json --pipeline ours

An approximation of the run's own ablation rows: each passage is rebuilt from the paragraph
the run logged (a paragraph longer than one chunk was split by the service, not here); runs
before 2026-11-30 logged the draft renumbered by first citation, not as the model numbered
the passages, which misplaces markers; and checks that need the embedder (across languages)
have it only with `--embed`. Run it on two checkouts to compare rule sets, or with `--set` to
try a threshold:

    rag bench reverify artifacts/eval/piaf-s21/answers.jsonl \
        ../shared/data/piaf/piaf-v1.1-dev.json --set min_support=0.6
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from evaluation.datasets import load_dataset
from evaluation.metrics import contains_answer, token_f1
from rag.schema import Chunk, Passage
from rag.verify import VerifyConfig, verify


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="rag bench reverify",
        description=__doc__,
        formatter_class=argparse.RawTextHelpFormatter,
    )
    ap.add_argument("answers", type=Path, help="a run's answers.jsonl (`rag eval --out`)")
    ap.add_argument("dataset", type=Path, help="the dataset that run read")
    ap.add_argument("--pipeline", default="ours")
    ap.add_argument("--extra", type=Path, default=None, help="unanswerable questions' file")
    ap.add_argument("--embed", action="store_true", help="load multilingual-e5 for the rules")
    ap.add_argument("--set", action="append", default=[], help="VerifyConfig field=value")
    ap.add_argument(
        "--drops",
        action="store_true",
        help="list every claim a rule dropped (or answer it declined), and count per rule the "
        "drops of claims that held a reference answer (right answers lost) and of others",
    )
    args = ap.parse_args(argv)
    try:
        settings = VerifyConfig(**dict(x.split("=", 1) for x in args.set))
    except ValueError as err:  # no "=", or a field VerifyConfig refuses
        ap.error(f"--set {args.set}: {err}")
    embedder = None
    if args.embed:
        from rag.components import make_embedder
        from rag.settings import Settings

        embedder = make_embedder(Settings().models)
    dataset = load_dataset(args.dataset)
    by_id = {p.id: p for p in dataset.paragraphs}
    if args.extra:  # paragraphs the extra questions brought, if any
        by_id |= {p.id: p for p in load_dataset(args.extra, dataset.language).paragraphs}
    rows = [json.loads(x) for x in args.answers.open()]
    rows = [r for r in rows if r["pipeline"] == args.pipeline and "error" not in r]
    stats = {"contains": [], "f1": [], "abst_un": [], "abst_ans": []}
    drops: dict[str, list[int]] = {}  # rule -> [claims holding a reference, others]
    for r in rows:
        paragraphs = [by_id[d] for d in r["context_docs"] if d in by_id]
        passages = [
            Passage(Chunk(p.id, p.id, p.text, 0, len(p.text), p.title, language=p.language), 1.0)
            for p in paragraphs
        ]
        v = verify(
            r.get("model_draft") or r["draft"] or "",
            passages,
            r["question"],
            dataset.language,
            settings,
            embedder,
        )
        if args.drops:
            _count_drops(v, r, drops)
        if r["unanswerable"]:
            stats["abst_un"].append(v.abstained)
            continue
        stats["abst_ans"].append(v.abstained)
        answer = "" if v.abstained else v.text
        stats["contains"].append(contains_answer(answer, r["references"]))
        stats["f1"].append(token_f1(answer, r["references"]))
    if args.drops:
        print("\n| rule | drops of a claim holding a reference | other drops |")
        print("|---|---|---|")
        for rule, (right, other) in sorted(drops.items()):
            print(f"| {rule} | {right} | {other} |")
    mean = {k: sum(map(float, v)) / len(v) if v else float("nan") for k, v in stats.items()}
    print(
        f"{args.pipeline}, re-verified: contains {mean['contains']:.3f}, F1 {mean['f1']:.3f}, "
        f"abstains unanswerable {mean['abst_un']:.3f}, answerable {mean['abst_ans']:.3f} "
        f"({len(rows)} drafts; {', '.join(args.set) or 'default thresholds'})"
    )
    return 0


def _count_drops(v, r: dict, drops: dict[str, list[int]]) -> None:
    """Each drop or abstention of a re-verified draft: did what it removed hold a reference
    answer (a right answer lost), on an answerable question?"""
    for d in v.decisions:
        if d.action not in ("drop", "stop", "abstain"):
            continue
        said = v.claims[d.claim].says if d.claim is not None else v.draft
        right = bool(r["references"]) and contains_answer(said, r["references"])
        drops.setdefault(d.rule, [0, 0])[0 if right else 1] += 1
        mark = "RIGHT" if right else ("unans" if r["unanswerable"] else "wrong")
        print(f"{mark:5} {d.rule:24} {d.action:7} {r['question'][:70]!r}: {said[:110]!r}")


if __name__ == "__main__":
    sys.exit(main())
