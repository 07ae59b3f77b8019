"""`rag eval DATASET`: the evaluation command (registered by api/cli.py)."""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from evaluation.datasets import DatasetError

EPILOG = """
examples:
  rag eval ../shared/data/piaf/piaf-v1.1-dev.json --retrieval-only --ablation
  rag eval ../shared/data/piaf/piaf-v1.1-dev.json --answer-limit 150 --out artifacts/eval/piaf
  rag eval questions.jsonl --limit 50 --no-baseline

checking, on the half of the questions no setting was tuned on (evaluation/split.py):
  rag eval ../shared/data/piaf/piaf-v1.1-dev.json --split check --answers-only \
      --answer-limit 100 --extra evaluation/data/unanswerable-fr-check.jsonl --no-baseline

questions over article files (facts each answer must hold, the document it must cite):
  rag eval evaluation/data/seed-regression.jsonl --corpus seeds/ --no-baseline

news questions (time, outlets, the collection, reprints, disagreeing sources; its own corpus):
  rag eval evaluation/data/news.json --out artifacts/eval/news

against a running service (it has no ingest endpoint, so fill its collection first):
  rag eval DATASET --ingest-only          # prints the RAG_COLLECTION / RAG_DATA_DIR to serve
  RAG_COLLECTION=... RAG_DATA_DIR=... rag serve &
  rag eval DATASET --url http://127.0.0.1:8000 --no-baseline
"""


def add_eval_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "eval",
        help="evaluate retrieval, answers and citations on a question set",
        description="Ingest a question set's paragraphs into their own collection, ask its "
        "questions, and report retrieval, answer, citation, abstention and latency metrics, "
        "side by side with the default LlamaIndex pipeline.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "dataset",
        type=Path,
        help='SQuAD-style JSON, or JSONL of {"question", "answers"?, "gold_passage"?, "title"?, '
        '"facts"?, "gold_doc"?}',
    )
    p.add_argument(
        "--limit",
        type=int,
        default=None,
        help="evaluate a fixed random sample of N questions (see --seed)",
    )
    p.add_argument(
        "--answer-limit",
        type=int,
        default=None,
        help="retrieval on every selected question, answers on a fixed sample of N",
    )
    p.add_argument("--seed", type=int, default=13, help="sampling seed (default 13)")
    p.add_argument(
        "--split",
        default=None,
        metavar="tune|check|FILE",
        help="ask only the questions of this half (evaluation/splits/<dataset>.<half>.txt, "
        "made by python -m evaluation.split) or of an id file; the corpus stays whole",
    )
    p.add_argument("--retrieval-only", action="store_true", help="no LLM: retrieval metrics only")
    p.add_argument(
        "--answers-only",
        action="store_true",
        help="skip the retrieval pass over every selected question: answer metrics only",
    )
    p.add_argument("--top-k", type=int, default=None, help="passages given to the model")
    p.add_argument(
        "--relative-score",
        type=float,
        default=None,
        help="give the model only passages scoring this share of the best (0: all top-k)",
    )
    p.add_argument("--depth", type=int, default=10, help="passages retrieved for recall@k / MRR")
    p.add_argument(
        "--no-baseline",
        dest="baseline",
        action="store_false",
        help="skip the default LlamaIndex pipeline",
    )
    p.add_argument(
        "--ablation",
        action="store_true",
        help="add retrieval rows: BM25 only, dense only, no sentence scores",
    )
    p.add_argument(
        "--url",
        default=None,
        help="evaluate a running service (POST /v1/ask) instead of an in-process one",
    )
    p.add_argument(
        "--ingest-only",
        action="store_true",
        help="fill the dataset's collection and print how to serve it, then stop",
    )
    p.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="where eval collections live (default: data/eval in the repository)",
    )
    p.add_argument(
        "--collection",
        default=None,
        help="collection name (default: eval-<dataset>-c<chunk size>-o<overlap>)",
    )
    p.add_argument(
        "--extra",
        type=Path,
        default=None,
        help="more questions (JSONL) asked against the same corpus, never sampled "
        'away; e.g. unanswerable ones with "answers": []',
    )
    p.add_argument(
        "--corpus",
        type=Path,
        nargs="+",
        default=None,
        metavar="PATH",
        help="article files or folders (.txt, .md) ingested as `rag ingest` does, as the corpus "
        "instead of the gold passages; a JSONL row names its document with gold_doc",
    )
    p.add_argument(
        "--language",
        choices=["fr", "en"],
        default=None,
        help="language of the paragraphs (default: detected)",
    )
    p.add_argument(
        "--retrieval",
        choices=["hybrid", "dense", "bm25"],
        default=None,
        help="ours with one half of retrieval only (default: hybrid)",
    )
    p.add_argument("--candidates", type=int, default=None, help="per-retriever pool before fusion")
    p.add_argument("--chunk-size", type=int, default=None)
    p.add_argument("--chunk-overlap", type=int, default=None)
    p.add_argument(
        "--out", type=Path, default=None, help="write report.json, report.md and PNG plots here"
    )
    p.add_argument(
        "--variant",
        action="append",
        default=[],
        metavar="NAME:RAG_X=V[,RAG_Y=W]",
        help="another row of ours with these settings, on the same questions in the same run "
        "(repeatable), e.g. 'quote:RAG_PROMPT_STYLE=quote'",
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=cmd_eval)
    return p


def _config(args: argparse.Namespace):
    from evaluation.runner import EvalConfig

    return EvalConfig(
        dataset=args.dataset,
        limit=args.limit,
        answer_limit=args.answer_limit,
        seed=args.seed,
        retrieval_only=args.retrieval_only,
        depth=args.depth,
        top_k=args.top_k,
        relative_score=args.relative_score,
        baseline=args.baseline,
        ablation=args.ablation,
        url=args.url,
        data_dir=args.data_dir,
        collection=args.collection,
        extra=args.extra,
        split=args.split,
        answers_only=args.answers_only,
        corpus=args.corpus,
        language=args.language,
        retrieval=None if args.retrieval == "hybrid" else args.retrieval,
        candidates=args.candidates,
        chunk_size=args.chunk_size,
        chunk_overlap=args.chunk_overlap,
        progress=not args.quiet,
        log=(args.out / "answers.jsonl") if args.out else None,
        variants=[parse_variant(v) for v in args.variant],
    )


def parse_variant(text: str) -> tuple[str, dict[str, str]]:
    """'name:RAG_X=V,RAG_Y=W' -> ("name", {"x": "V", "y": "W"}) (settings field names). A
    value may hold commas (RAG_VERIFY_RULES_OFF=a,b): pairs split before the next RAG_."""
    name, sep, pairs = text.partition(":")
    updates: dict[str, str] = {}
    for pair in filter(None, re.split(r",(?=\s*RAG_)", pairs, flags=re.IGNORECASE)):
        key, eq, value = pair.strip().partition("=")
        if not eq or not key.upper().startswith("RAG_"):
            raise SystemExit(f"--variant {text!r}: expected NAME:RAG_X=VALUE[,RAG_Y=VALUE]")
        updates[key[4:].lower()] = value
    if not name or not sep or not updates:
        raise SystemExit(f"--variant {text!r}: expected NAME:RAG_X=VALUE[,RAG_Y=VALUE]")
    return name, updates


def cmd_ingest_only(config) -> int:
    from evaluation.runner import fill_collection, load
    from rag.components import make_engines

    settings = config.settings()
    dataset, _ = load(config)
    engines = make_engines(settings)
    report = fill_collection(config, dataset, settings, engines)
    store, ingest = settings.store, settings.ingest
    print(
        f"{report.summary()}; {engines.store.count()} passage(s) in {store.collection!r}",
        file=sys.stderr,
    )
    print(
        "Serve it with:\n"
        f"  RAG_COLLECTION={store.collection} RAG_DATA_DIR={store.data_dir} "
        f"RAG_CHUNK_SIZE={ingest.chunk_size} RAG_CHUNK_OVERLAP={ingest.chunk_overlap} "
        "rag serve"
    )
    return 0


def cmd_news(args: argparse.Namespace) -> int:
    from evaluation.news import markdown, run_news

    try:
        rows = run_news(args.dataset, args.out, progress=not args.quiet)
    except DatasetError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if args.out:
        print(f"report written to {args.out}/report.md", file=sys.stderr)
    print(markdown(rows))
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from evaluation import report as report_mod
    from evaluation.news import is_news_set
    from evaluation.runner import run

    if is_news_set(args.dataset):  # questions about time, outlets, reprints (news.json)
        return cmd_news(args)
    if args.url and args.ingest_only:
        print("error: --ingest-only fills a local collection; drop --url", file=sys.stderr)
        return 2
    if args.answers_only and (args.retrieval_only or args.ablation):
        other = "--retrieval-only" if args.retrieval_only else "--ablation (retrieval rows)"
        print(f"error: --answers-only and {other} exclude each other", file=sys.stderr)
        return 2
    if args.split == "check" and args.extra and "check" not in args.extra.stem:
        print(
            f"warning: --split check with --extra {args.extra}: settings were tuned on that "
            "set; the checking half's are evaluation/data/unanswerable-{fr,en}-check.jsonl",
            file=sys.stderr,
        )
    config = _config(args)
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        if config.log and config.log.exists():
            config.log.unlink()  # answers.jsonl belongs to this run only
    try:
        if args.ingest_only:
            return cmd_ingest_only(config)
        result = run(config)
    except (DatasetError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    report = report_mod.to_json(result, report_mod.command_line())
    if args.out:
        report_mod.write(result, args.out, report["command"])
        print(f"report written to {args.out}/report.md", file=sys.stderr)
    print(report_mod.to_markdown(report))
    return 0
