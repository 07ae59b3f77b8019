"""How many prompt tokens each way of showing the passages costs, before running a model.

The first token waits on the prompt tokens read after the cached prefix (~105 tokens/s here,
scripts/bench_prompt_eval.py), so this says which context variants could reach a first token
under 2.5 s and are worth a `rag eval` row. Same questions as `rag eval --answer-limit 100`
plus an unanswerable set; retrieval as the service does it; only the tokenizer is loaded.

    .venv/bin/python scripts/diag_context_tokens.py ../shared/data/piaf/piaf-v1.1-dev.json \
        --extra evaluation/data/unanswerable-fr-heldout.jsonl
"""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path

from evaluation.datasets import load_dataset
from evaluation.runner import EvalConfig, select_questions
from rag.components import make_service
from rag.focus import focus_texts
from rag.language import detect_language
from rag.prompting import build_messages

# name: (window of the best passage, window of the others, most passages)
VARIANTS: dict[str, tuple[int, int | None, int]] = {
    "today (window 1, up to 5)": (1, None, 5),
    "others window 0": (1, 0, 5),
    "up to 3 passages": (1, None, 3),
    "others window 0, up to 3": (1, 0, 3),
    "window 0 (round 2)": (0, None, 5),
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("dataset", type=Path)
    ap.add_argument("--extra", type=Path)
    args = ap.parse_args()
    config = EvalConfig(dataset=args.dataset, answer_limit=100)
    settings = config.settings()
    from llama_cpp import Llama

    vocab = Llama(model_path=str(settings.llm_model_path), vocab_only=True, verbose=False)
    service = make_service(settings, llm=object())
    questions = [q.question for q in select_questions(load_dataset(args.dataset), config, None)[1]]
    if args.extra:
        questions += [q.question for q in load_dataset(args.extra, "fr").questions]
    counts: dict[str, list[int]] = {name: [] for name in VARIANTS}
    for question in questions:
        passages = service.context(question)
        language = detect_language(question)
        vector = service.retriever.query_vector(question)
        stored = service.retriever.index.sentences([p.chunk.id for p in passages])
        for name, (window, rest, most) in VARIANTS.items():
            kept = passages[:most]
            shown = focus_texts(kept, vector, stored, window, rest)
            messages = build_messages(
                question,
                kept,
                language,
                "cited",
                shown,
                settings.prompt_examples,
                settings.prompt_demos,
            )
            formatted = vocab.tokenize(
                "".join(m["content"] for m in messages).encode(), add_bos=False
            )
            counts[name].append(len(formatted))
    base = statistics.median(counts[next(iter(VARIANTS))])
    print(f"{len(questions)} questions; prompt tokens (template markup not counted)")
    print("| variant | p50 | p90 | p50 vs today |")
    print("|---|---|---|---|")
    for name, values in counts.items():
        p50 = statistics.median(values)
        p90 = sorted(values)[int(len(values) * 0.9)]
        print(f"| {name} | {p50:.0f} | {p90} | {p50 - base:+.0f} |")


if __name__ == "__main__":
    main()
