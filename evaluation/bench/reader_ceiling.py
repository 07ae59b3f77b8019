"""The reader's ceiling: the service beside the same service reading only the gold paragraph.

Retrieval of the second row returns only the gold paragraph's chunks; both rows answer the
questions `rag eval` samples (answerable ones only: a gold paragraph is what they have).

    rag bench reader_ceiling ../shared/data/piaf/piaf-v1.1-dev.json \
        --answer-limit 100 --out artifacts/ceiling-piaf

The gold-only row is what perfect retrieval would give this reader, prompt and verification:
an upper bound on answer quality that no retrieval change can pass. Each question is asked
by both rows in turn (one model, one process), so both see the same machine. `--variant
NAME:RAG_X=V` adds a row with other settings (gold-only too). The collection is `rag eval`'s
(run it once first, or this ingests the dataset).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from evaluation.baseline import CountingLLM
from evaluation.cli import parse_variant
from evaluation.runner import (
    EvalConfig,
    OursInProcess,
    answer_record,
    ingest_dataset,
    load,
    select_questions,
    summarize_answers,
)
from rag.components import make_engines, make_llm, make_service

COLUMNS = (
    ("contains_answer", "contains"),
    ("f1", "F1"),
    ("cites_gold", "cites gold"),
    ("gold_in_context", "gold read"),
    ("false_abstention", "declines"),
    ("first_token_p50_ms", "first token p50 ms"),
    ("latency_p50_ms", "answer p50 ms"),
    ("prompt_tokens_mean", "prompt tokens"),
)


class GoldOnly:
    """Wraps a retriever: of a deep ranking, only the chunks of the current question's gold
    paragraph (the whole ranking when none of them is in it, counted as a miss)."""

    def __init__(self, inner, depth: int = 50) -> None:
        self.inner = inner
        self.depth = depth
        self.gold: str | None = None
        self.misses = 0

    def retrieve(self, query: str, k: int):
        return self.search(query, k).passages

    def search(self, query: str, k: int, language: str | None = None, filters=None):
        found = self.inner.search(query, max(k, self.depth), language, filters)
        gold = [p for p in found.passages if p.chunk.doc_id == self.gold]
        if not gold:
            self.misses += 1
        found.passages = (gold or found.passages)[:k]
        return found

    def __getattr__(self, name: str):  # embedder, index, query_vector: the inner retriever's
        return getattr(self.inner, name)


def _cell(key: str, value: float | None, timed: bool) -> str:
    # the rows after the first reuse its prompt's cached prefix (the same gold passage often
    # opens both prompts): their times are not comparable, so they are left out
    if value is None or (key.endswith("_ms") and not timed):
        return "–"
    return f"{value:.0f}" if key.endswith("_ms") or key == "prompt_tokens_mean" else f"{value:.3f}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="rag bench reader_ceiling",
        description=__doc__,
        formatter_class=argparse.RawTextHelpFormatter,
    )
    ap.add_argument("dataset", type=Path, help="a dataset `rag eval` reads (SQuAD JSON, JSONL)")
    ap.add_argument("--answer-limit", type=int, default=100)
    ap.add_argument("--variant", action="append", default=[], help="NAME:RAG_X=V (gold only)")
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args(argv)

    config = EvalConfig(dataset=str(args.dataset), answer_limit=args.answer_limit)
    settings = config.settings()
    dataset, extra = load(config)
    _, questions = select_questions(dataset, config, extra)
    questions = [q for q in questions if q.gold and not q.unanswerable]
    engines = make_engines(settings)
    ingest_dataset(dataset, settings, engines, progress=True)
    llm = CountingLLM(make_llm(settings.models))

    rows: list[tuple[str, OursInProcess, GoldOnly | None]] = []
    ours = make_service(settings, engines=engines, llm=llm)
    rows.append(("ours", OursInProcess("ours", ours), None))
    gold_service = make_service(settings, engines=engines, llm=llm)
    gold = GoldOnly(gold_service.retriever)
    gold_service.retriever = gold
    rows.append(("gold only", OursInProcess("gold only", gold_service), gold))
    for text in args.variant:
        name, updates = parse_variant(text)
        service = make_service(settings.changed(**updates), engines=engines, llm=llm)
        wrapper = GoldOnly(service.retriever)
        service.retriever = wrapper
        rows.append((f"gold only, {name}", OursInProcess(name, service), wrapper))

    args.out.mkdir(parents=True, exist_ok=True)
    records: dict[str, list[dict]] = {name: [] for name, _, _ in rows}
    with (args.out / "answers.jsonl").open("w", encoding="utf-8") as log:
        for i, q in enumerate(questions, 1):
            for name, pipeline, wrapper in rows:
                if wrapper is not None:
                    wrapper.gold = q.gold
                record = answer_record(name, q, pipeline.answer(q.question))
                records[name].append(record)
                log.write(json.dumps(record, ensure_ascii=False) + "\n")
                log.flush()
            print(f"{i}/{len(questions)}", flush=True)

    summary = {name: summarize_answers(rs) for name, rs in records.items()}
    for name, _, wrapper in rows:
        summary[name]["gold_not_retrieved"] = wrapper.misses if wrapper else None
    (args.out / "summary.json").write_text(json.dumps(summary, indent=2))
    header = "| row | n | " + " | ".join(label for _, label in COLUMNS) + " | gold not in top 50 |"
    lines = [header, "|" + "---|" * (len(COLUMNS) + 3)]
    for name, s in summary.items():
        cells = [_cell(key, s[key], timed=name == "ours") for key, _ in COLUMNS]
        misses = s["gold_not_retrieved"]
        misses_cell = "–" if misses is None else str(misses)
        lines.append(f"| {name} | {s['answerable']} | " + " | ".join(cells) + f" | {misses_cell} |")
    table = "\n".join(lines)
    (args.out / "summary.md").write_text(table + "\n")
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
