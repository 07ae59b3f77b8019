"""The `rag` command: ingest, ask, serve (and eval, bench)."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from pathlib import Path

from pydantic import ValidationError

from rag.memory import tune_malloc
from rag.settings import describe_settings_error, get_settings


def is_url(value: str | Path) -> bool:
    return str(value).lower().startswith(("http://", "https://"))


def _local_ingestion():
    """The ingestion service over the local store, or an error message."""
    from ingest.service import IngestionService
    from rag.components import make_engines
    from rag.store import EmbedderMismatchError, StoreLockedError

    settings = get_settings()
    try:
        return IngestionService(settings, make_engines(settings)), None
    except (StoreLockedError, EmbedderMismatchError) as err:
        return None, str(err)


def _ingest(
    paths: list[Path | str],
    quiet: bool = False,
    sync: bool = False,
    mapping: dict[str, str] | None = None,
) -> int:
    """Files, folders and URLs (a page, a feed read once, an export) into the local store;
    `mapping` names an export's fields (`--map text=story.body_text`)."""
    from ingest.pipeline import IngestReport

    settings = get_settings()
    ingestion, problem = _local_ingestion()
    if ingestion is None:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    # finish what an interrupted run left, and re-embed a store of an older text form, first
    recovered = ingestion.prepare(progress=not quiet)
    if recovered.outcomes:
        print(f"recovered an interrupted ingestion: {recovered.summary()}", file=sys.stderr)
    t0 = time.perf_counter()
    files = [Path(p) for p in paths if not is_url(p)]
    report = IngestReport()
    if files:
        report = ingestion.ingest_paths(files, progress=not quiet, sync=sync, mapping=mapping)
    for url in (str(p) for p in paths if is_url(p)):
        fetched = ingestion.ingest_url(url, progress=not quiet, mapping=mapping)
        report.outcomes += fetched.outcomes
        report.files += 1
    elapsed = time.perf_counter() - t0
    for error in report.errors:
        print(f"error: {error}", file=sys.stderr)
    for o in report.outcomes:
        if o.detail and o.status not in ("error", "conflict"):
            print(f"warning: {o.detail}", file=sys.stderr)
    embedded = ingestion.ingestor.texts_embedded
    print(
        f"{report.summary()}; {ingestion.store.count()} passage(s) in "
        f"{settings.store.collection!r}; {elapsed:.1f} s, {embedded} text(s) embedded "
        "(passages and sentences)",
        file=sys.stderr,
    )
    return 1 if report.errors else 0


def _ingest_over_http(
    paths: list[Path | str], url: str, api_key: str | None, mapping: dict[str, str] | None = None
) -> int:
    """Upload files to a running server (POST /v1/documents), a few at a time; URLs are
    sent as `{"url": ...}` for the server to fetch."""
    import httpx

    from ingest.readers import ReadError, find_files

    try:
        files = find_files([Path(p) for p in paths if not is_url(p)])
    except ReadError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    failed = 0
    with httpx.Client(base_url=url.rstrip("/"), headers=headers, timeout=600) as client:
        form = {"mapping": json.dumps(mapping)} if mapping else {}
        requests = [
            {"files": [("files", (f.name, f.read_bytes(), "application/octet-stream"))
                       for f in files[i : i + 20]], "data": form}
            for i in range(0, len(files), 20)
        ] + [{"json": {"url": str(p), **({"mapping": mapping} if mapping else {})}}
             for p in paths if is_url(p)]  # fmt: skip
        for request in requests:
            r = client.post("/v1/documents", params={"wait": "true"}, **request)
            if r.status_code not in (200, 202):
                print(f"error: {r.status_code} {r.text}", file=sys.stderr)
                failed += len(request.get("files", [None]))
                continue
            job = r.json()
            while job["state"] in ("queued", "running"):
                time.sleep(1)
                job = client.get(f"/v1/jobs/{job['id']}").json()
            for o in job["outcomes"]:
                line = f"{o['status']:9} {o['name']} -> {o['doc_id']} ({o['passages']} passages)"
                print(line if not o["detail"] else f"{line}: {o['detail']}", file=sys.stderr)
                failed += o["status"] in ("error", "conflict")
    return 1 if failed else 0


def cmd_ingest(args: argparse.Namespace) -> int:
    from ingest.readers import ReadError, parse_mapping

    try:
        mapping = parse_mapping(args.map)
    except ReadError as err:
        print(f"error: --map: {err}", file=sys.stderr)
        return 2
    if args.url:
        return _ingest_over_http(args.paths, args.url, args.api_key, mapping)
    return _ingest(args.paths, args.quiet, args.sync, mapping)


def cmd_feeds(args: argparse.Namespace) -> int:
    from api.feeds_cli import run

    return run(args, _local_ingestion)


def cmd_ask(args: argparse.Namespace) -> int:
    from api.schemas import check_question
    from rag.components import make_service

    try:
        question = check_question(args.question, get_settings().serve.max_question_chars)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    service = make_service(get_settings())
    store, embedder = service.engines.store, service.engines.embedder
    if store.text_form != embedder.text_form:
        print(
            f"error: the store was embedded in text form {store.text_form}, the embedder reads "
            f"form {embedder.text_form}: run `rag reindex` (or start `rag serve`) to embed it "
            "again first",
            file=sys.stderr,
        )
        return 2
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


def cmd_reindex(args: argparse.Namespace) -> int:
    """Bring the store's vectors to the embedder's text form (embedding them again when the
    store was embedded in another), and rebuild the vector graph with the current RAG_HNSW_*
    settings from the stored vectors."""
    from ingest.service import IngestionService
    from rag.components import make_engines
    from rag.store import EmbedderMismatchError, StoreLockedError

    settings = get_settings()
    try:
        engines = make_engines(settings)
    except (StoreLockedError, EmbedderMismatchError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    store = engines.store
    if store.text_form != engines.embedder.text_form:
        n = IngestionService(settings, engines).ingestor.embed_again(progress=not args.quiet)
        print(f"embedded {n} passages again in text form {store.text_form}", file=sys.stderr)
    wanted, current = settings.store.hnsw, store.graph()
    if current == wanted and not args.force:
        print(f"the graph already has {current}; nothing to do (--force rebuilds anyway)")
        return 0
    if settings.store.vector_store == "chroma-http":
        print("note: no one may add or delete documents until this ends", file=sys.stderr)
    t0 = time.perf_counter()

    def progress(done: int, total: int) -> None:
        if not args.quiet:
            print(f"\r{done}/{total} passages copied", end="", file=sys.stderr, flush=True)

    try:
        n = store.rebuild_graph(wanted, progress)
    except RuntimeError as err:
        print(f"\nerror: {err}", file=sys.stderr)
        return 1
    print(
        f"\nrebuilt {settings.store.collection!r}: {n} passages, graph {current} -> "
        f"{store.graph()}, {time.perf_counter() - t0:.1f} s (nothing embedded again)",
        file=sys.stderr,
    )
    return 0


def is_loopback(host: str) -> bool:
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from api.app import create_app

    settings = get_settings()
    serve = settings.serve
    host, port = args.host or serve.host, args.port or serve.port
    anonymous = args.allow_anonymous or serve.allow_anonymous
    if not is_loopback(host) and not serve.api_key_list() and not anonymous:
        print(
            f"error: refusing to serve on {host} without API keys: anyone who reaches the port "
            "could add and delete documents. Set RAG_API_KEYS (see README, 'Running it for "
            "real'), or pass --allow-anonymous if the network is trusted.",
            file=sys.stderr,
        )
        return 2
    workers = args.workers or serve.workers
    if workers > 1 and settings.store.vector_store == "chroma-embedded":
        print(
            f"error: --workers {workers} needs a Chroma server: an embedded Chroma belongs to one "
            "process (each worker would keep its own in-memory index of the same files). Run "
            "`chroma run --path DIR --port 8001` and set RAG_VECTOR_STORE=chroma-http, with "
            "RAG_LLM=openai-like and an OpenAI-compatible LLM server so the workers share one "
            "model: scripts/serve_scaled.sh starts all three.",
            file=sys.stderr,
        )
        return 2
    if workers > 1 and settings.models.llm == "llama-cpp":
        print(
            f"warning: each of the {workers} workers loads its own llama.cpp model (1.1 GB and "
            "all cores each); an OpenAI-compatible server shared by the workers scales better "
            "(RAG_LLM=openai-like, scripts/serve_scaled.sh).",
            file=sys.stderr,
        )
    if args.ingest:
        code = _ingest(args.ingest)
        if code:
            return code
    print(f"Serving on http://{host}:{port}  (chat page at /, API docs at /docs)", file=sys.stderr)
    if workers > 1:  # each worker builds its app from the same RAG_* environment
        uvicorn.run(
            "api.app:create_app",
            factory=True,
            workers=workers,
            host=host,
            port=port,
            log_level=serve.log_level,
        )
    else:
        uvicorn.run(create_app(settings), host=host, port=port, log_level=serve.log_level)
    return 0


def _benchmarks() -> dict[str, str]:
    """The modules of evaluation.bench (helpers, named `_x`, aside), each with the first line of
    its docstring, read without importing them: a benchmark may load torch or llama.cpp."""
    import ast
    import pkgutil

    import evaluation.bench

    found = {}
    for module in pkgutil.iter_modules(evaluation.bench.__path__):
        if module.ispkg or module.name.startswith("_"):
            continue
        source = Path(module.module_finder.path, f"{module.name}.py").read_text(encoding="utf-8")
        doc = ast.get_docstring(ast.parse(source)) or ""
        found[module.name] = doc.strip().split("\n", 1)[0]
    return dict(sorted(found.items()))


def cmd_bench(args: argparse.Namespace) -> int:
    import importlib

    found = _benchmarks()
    if args.list or not args.name:
        width = max(map(len, found), default=0)
        print("rag bench NAME [ARGS...]; rag bench NAME --help for its options\n")
        for name, summary in found.items():
            print(f"  {name:<{width}}  {summary}")
        return 0
    name = args.name.replace("-", "_")
    if name not in found:
        print(f"error: no benchmark {args.name!r}; there are: {', '.join(found)}", file=sys.stderr)
        return 2
    return int(importlib.import_module(f"evaluation.bench.{name}").main(args.args) or 0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="rag", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser(
        "ingest",
        help="chunk, embed and store articles: files (.txt, .md, .html, feeds, .json, .jsonl), "
        "folders, and URLs (a page, a feed read once, an export)",
    )
    p.add_argument("paths", nargs="+", metavar="PATH_OR_URL")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.add_argument(
        "--sync",
        action="store_true",
        help="mirror the given folders: delete documents whose file is gone from them",
    )
    p.add_argument(
        "--map",
        action="append",
        default=[],
        metavar="FIELD=PATH",
        help="JSON/JSONL exports: where a field is, when its common names do not find it "
        "(e.g. --map text=story.body_text --map published=meta.ts; fields: title, text, "
        "summary, published, url, outlet, authors, language, keywords, id)",
    )
    p.add_argument("--url", help="upload to a running server instead (POST /v1/documents)")
    p.add_argument(
        "--api-key", default=os.environ.get("RAG_API_KEY"), help="with --url (env RAG_API_KEY)"
    )
    p.set_defaults(func=cmd_ingest)

    from api.feeds_cli import add_feeds_parser

    add_feeds_parser(sub, cmd_feeds)

    p = sub.add_parser("ask", help="answer one question with citations")
    p.add_argument("question")
    p.add_argument("--top-k", type=int, default=None)
    p.add_argument("--json", action="store_true", help="print the full JSON response")
    p.set_defaults(func=cmd_ask)

    p = sub.add_parser(
        "reindex",
        help="embed the store again if its text form is old; rebuild the vector graph with "
        "the RAG_HNSW_* settings",
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no progress")
    p.add_argument("--force", action="store_true", help="even if the graph has these settings")
    p.set_defaults(func=cmd_reindex)

    p = sub.add_parser("serve", help="serve the HTTP API and the chat page")
    p.add_argument("--host", default=None)
    p.add_argument("--port", type=int, default=None)
    p.add_argument(
        "--ingest", nargs="*", type=Path, default=None, help="ingest these paths before serving"
    )
    p.add_argument(
        "--workers", type=int, default=None, help="API worker processes (needs a Chroma server)"
    )
    p.add_argument(
        "--allow-anonymous",
        action="store_true",
        help="serve on a non-loopback address without API keys (trusted networks only)",
    )
    p.set_defaults(func=cmd_serve)

    try:
        from evaluation.cli import add_eval_parser
    except ImportError:
        pass
    else:
        add_eval_parser(sub)

    p = sub.add_parser("bench", help="run a benchmark of evaluation.bench (--list names them)")
    p.add_argument("--list", action="store_true", help="name the benchmarks and exit")
    p.add_argument("name", nargs="?", help="a benchmark (none: the list)")
    p.add_argument("args", nargs=argparse.REMAINDER, help="its arguments (NAME --help)")
    p.set_defaults(func=cmd_bench)

    args = parser.parse_args(argv)
    tune_malloc()  # before any model loads: bounded arenas, large blocks handed back on free
    try:
        settings = get_settings()
    except ValidationError as err:
        print(f"error: {describe_settings_error(err)}", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=getattr(logging, settings.serve.log_level.upper(), logging.WARNING),
        format='{"time":"%(asctime)s","level":"%(levelname)s","logger":"%(name)s",'
        '"msg":"%(message)s"}',
    )
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
