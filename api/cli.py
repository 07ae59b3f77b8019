"""The `rag` command: ingest, ask, serve (and eval)."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from pydantic import ValidationError

from rag.settings import describe_settings_error, get_settings


def _ingest(paths: list[Path], quiet: bool = False) -> int:
    from ingest.pipeline import Ingestor, make_chunker
    from rag.components import make_embedder, make_store

    settings = get_settings()
    embedder = make_embedder(settings)
    store = make_store(settings, embedder)
    report = Ingestor(store, embedder, make_chunker(settings, embedder)).ingest_paths(
        paths, progress=not quiet
    )
    for error in report.errors:
        print(f"error: {error}", file=sys.stderr)
    print(
        f"{report.summary()}; {store.count()} passage(s) in {settings.collection!r}",
        file=sys.stderr,
    )
    return 1 if report.errors else 0


def cmd_ingest(args: argparse.Namespace) -> int:
    return _ingest(args.paths, args.quiet)


def cmd_ask(args: argparse.Namespace) -> int:
    from api.schemas import check_question
    from rag.components import make_service

    try:
        question = check_question(args.question, get_settings().max_question_chars)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    service = make_service(get_settings())
    answer = service.ask(question, args.top_k)
    if args.json:
        print(json.dumps(answer.to_dict(), ensure_ascii=False, indent=2))
        return 0
    print(answer.answer)
    if answer.citations:
        print("\nSources:")
    for c in answer.citations:
        excerpt = " ".join(c.text.split())
        excerpt = excerpt if len(excerpt) <= 240 else excerpt[:237] + "..."
        print(f"[{c.n}] {c.title} ({c.doc_id}, chars {c.start}-{c.end})\n    {excerpt}")
    t = answer.timings
    print(f"\n({t.get('total_ms')} ms, {t.get('prompt_tokens')} prompt tokens)", file=sys.stderr)
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from api.app import create_app

    settings = get_settings()
    if args.ingest:
        code = _ingest(args.ingest)
        if code:
            return code
    host, port = args.host or settings.host, args.port or settings.port
    print(f"Serving on http://{host}:{port}  (chat page at /, API docs at /docs)", file=sys.stderr)
    uvicorn.run(create_app(settings), host=host, port=port, log_level=settings.log_level)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="rag", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("ingest", help="chunk, embed and store articles (.txt, .md, folders)")
    p.add_argument("paths", nargs="+", type=Path)
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_ingest)

    p = sub.add_parser("ask", help="answer one question with citations")
    p.add_argument("question")
    p.add_argument("--top-k", type=int, default=None)
    p.add_argument("--json", action="store_true", help="print the full JSON response")
    p.set_defaults(func=cmd_ask)

    p = sub.add_parser("serve", help="serve the HTTP API and the chat page")
    p.add_argument("--host", default=None)
    p.add_argument("--port", type=int, default=None)
    p.add_argument(
        "--ingest", nargs="*", type=Path, default=None, help="ingest these paths before serving"
    )
    p.set_defaults(func=cmd_serve)

    try:
        from evaluation.cli import add_eval_parser
    except ImportError:
        pass
    else:
        add_eval_parser(sub)

    args = parser.parse_args(argv)
    try:
        settings = get_settings()
    except ValidationError as err:
        print(f"error: {describe_settings_error(err)}", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=getattr(logging, settings.log_level.upper(), logging.WARNING),
        format='{"time":"%(asctime)s","level":"%(levelname)s","logger":"%(name)s",'
        '"msg":"%(message)s"}',
    )
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
