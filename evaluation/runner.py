"""Run an evaluation: ingest the dataset into its own collection, ask, score, summarise.

Pipelines are compared on the very same questions in the same process:
- `ours`: the service as configured (in process, or a running one with `--url`);
- `ours (bm25)` / `ours (dense)`: retrieval-only ablations (`--ablation`);
- `default LlamaIndex`: see `evaluation.baseline`.
Retrieval metrics use every selected question; answer metrics a fixed sample of them.
`--split tune|check` selects from one half of the questions (evaluation/split.py);
`--corpus` asks a JSONL set over article files (evaluation/corpus.py).
"""

from __future__ import annotations

import json
import re
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tqdm import tqdm

from evaluation.baseline import CountingLLM
from evaluation.corpus import corpus_label, ingest_corpus, read_corpus, with_corpus
from evaluation.datasets import Dataset, Question, add_questions, load_dataset, sample_questions
from evaluation.metrics import (
    CitedPassage,
    contains_answer,
    mean,
    missing_facts,
    percentile,
    rank_of,
    score_answer,
    summarize_ranks,
)
from evaluation.split import read_split
from rag.settings import PROJECT_ROOT, Settings

KS = (1, 3, 5, 10)
# Retrieval-only rows of `--ablation`: each part of our retrieval alone. (Rows of experiments
# that lost, RRF fusion and the in-memory bm25s index, are in docs/EVALUATION.md; commit
# 4da1593 still runs them.)
ABLATIONS: list[tuple[str, dict[str, Any]]] = [
    ("bm25 only", {"mode": "bm25"}),
    ("dense only", {"mode": "dense"}),
    ("hybrid weighted, no sentence scores", {"sentences": False}),
]


@dataclass
class EvalConfig:
    dataset: Path
    limit: int | None = None
    answer_limit: int | None = None
    seed: int = 13
    retrieval_only: bool = False
    depth: int = 10
    top_k: int | None = None
    relative_score: float | None = None
    baseline: bool = True
    ablation: bool = False
    url: str | None = None
    data_dir: Path | None = None
    collection: str | None = None
    extra: Path | None = None
    split: str | None = None  # "tune", "check" or an id file: ask only those questions
    answers_only: bool = False  # no retrieval pass over every question
    corpus: list[Path] | None = None  # article files/folders instead of the gold passages
    language: str | None = None
    retrieval: str | None = None  # "dense" or "bm25": ours with one half of retrieval only
    candidates: int | None = None
    chunk_size: int | None = None
    chunk_overlap: int | None = None
    progress: bool = True
    log: Path | None = None  # one JSON line per answered question, written as they finish
    derived: bool = True  # add rows computed from our generations (proposed post-processing)
    # other rows of ours, each with its settings changed: (name, {field: value})
    variants: list[tuple[str, dict[str, str]]] = field(default_factory=list)

    def settings(self) -> Settings:
        overrides: dict[str, Any] = {"data_dir": self.data_dir or default_data_dir()}
        for name in ("top_k", "relative_score", "chunk_size", "chunk_overlap"):
            value = getattr(self, name)
            if value is not None:
                overrides[name] = value
        settings = Settings(**overrides)
        collection = self.collection or collection_name(
            corpus_label(self.corpus) if self.corpus else Path(self.dataset).stem,
            settings.ingest.chunk_size,
            settings.ingest.chunk_overlap,
        )
        return settings.changed(collection=collection)


def default_data_dir() -> Path:
    return PROJECT_ROOT / "data" / "eval"


def _slug(name: str) -> str:
    return re.sub(r"[^a-zA-Z0-9]+", "-", name).strip("-").lower()[:40] or "dataset"


def collection_name(dataset: str, chunk_size: int, chunk_overlap: int) -> str:
    # v3: sentence vectors computed at ingestion, each sentence embedded on its own
    return f"eval-{_slug(dataset)}-v3-c{chunk_size}-o{chunk_overlap}-separate"


# --- pipelines ------------------------------------------------------------------------------


def _ms(t0: float) -> float:
    return (time.perf_counter() - t0) * 1000


class OursInProcess:
    def __init__(self, name: str, service, retriever=None) -> None:
        self.name = name
        self.service = service
        self.retriever = retriever or service.retriever

    def warm(self) -> None:
        if hasattr(self.retriever, "warm"):
            self.retriever.warm()

    def retrieve(self, question: str, k: int) -> tuple[list[str], float]:
        t0 = time.perf_counter()
        passages = self.retriever.retrieve(question, k)
        return [p.chunk.doc_id for p in passages], _ms(t0)

    def answer(self, question: str) -> dict:
        counter = self.service.llm if isinstance(self.service.llm, CountingLLM) else None
        if counter:
            counter.take_prompt_tokens()  # forget anything before this question
        a = self.service.ask(question)
        _, read = counter.take_prompt_tokens() if counter else (None, None)
        return {
            **_answer_fields(a),
            "draft": a.draft,
            # the normalised draft the rules read (the model's numbering), so that
            # `rag bench reverify` can check it again
            "model_draft": a.verified.draft if a.verified else None,
            "passages": [p.chunk.doc_id for p in a.passages],
            "total_ms": a.timings.get("total_ms"),
            "retrieval_ms": a.timings.get("retrieval_ms"),
            "first_token_ms": a.timings.get("first_token_ms"),
            "first_text_ms": a.timings.get("first_text_ms"),
            "prompt_tokens": a.timings.get("prompt_tokens"),
            "prompt_tokens_read": read,
            "context_passages": a.passages,
            "language": a.language,
            "verified": a.verified,  # the verification stage's input and result
        }


def _answer_fields(a) -> dict:
    """What scoring reads of an answer."""
    return {
        "answer": a.answer,
        "cited": [CitedPassage(c.doc_id, c.text) for c in a.citations],
        "n_sources": len(a.citations),  # markers are renumbered 1..m over the citations
        "abstained": a.abstained,
    }


class OursRemote:
    """A running `rag serve`, over HTTP. Its collection must hold the dataset (`--ingest-only`)."""

    def __init__(self, url: str, top_k: int | None, timeout: float = 600.0) -> None:
        import httpx

        self.name = "ours"
        self.top_k = top_k
        self._http = httpx.Client(base_url=url.rstrip("/"), timeout=timeout)
        self.can_retrieve = True

    def check(self, n_paragraphs: int) -> None:
        health = self._http.get("/healthz").json()
        if health.get("documents", 0) < n_paragraphs:
            print(
                f"warning: the service holds {health.get('documents')} documents, the dataset "
                f"{n_paragraphs}: did you start it on the collection `--ingest-only` filled?",
                file=sys.stderr,
            )

    def retrieve(self, question: str, k: int) -> tuple[list[str], float] | None:
        # Only services that expose retrieval (POST /v1/retrieve) get retrieval metrics.
        if not self.can_retrieve:
            return None
        t0 = time.perf_counter()
        r = self._http.post("/v1/retrieve", json={"question": question, "top_k": k})
        if r.status_code in (404, 405):
            self.can_retrieve = False
            return None
        r.raise_for_status()
        return [p["doc_id"] for p in r.json()["passages"]], _ms(t0)

    def answer(self, question: str) -> dict:
        t0 = time.perf_counter()
        for attempt in range(30):
            r = self._http.post("/v1/ask", json={"question": question, "top_k": self.top_k})
            if r.status_code != 503:
                break
            time.sleep(min(2 + attempt, 10))
        r.raise_for_status()
        body = r.json()
        timings = body.get("timings") or {}
        return {
            "answer": body["answer"],
            "cited": [CitedPassage(c["doc_id"], c["text"]) for c in body["citations"]],
            "n_sources": len(body["citations"]),
            "abstained": bool(body.get("abstained")),
            "passages": None,
            "total_ms": _ms(t0),
            "retrieval_ms": timings.get("retrieval_ms"),
            "first_token_ms": timings.get("first_token_ms"),
            "first_text_ms": timings.get("first_text_ms"),
            "prompt_tokens": timings.get("prompt_tokens"),
        }


# --- results --------------------------------------------------------------------------------


@dataclass
class PipelineResult:
    name: str
    retrieval: dict[str, Any] = field(default_factory=dict)
    answers: dict[str, Any] = field(default_factory=dict)
    per_question: dict[str, dict] = field(default_factory=dict)


def summarize_retrieval(records: Sequence[dict], depth: int) -> dict[str, Any]:
    if not records:
        return {}
    ranks = [r["rank"] for r in records]
    s = summarize_ranks(ranks, KS, depth)
    lat = [r["ms"] for r in records]
    return {
        "n": s.n,
        **{f"recall@{k}": s.recall[k] for k in KS},
        f"mrr@{depth}": s.mrr,
        "latency_p50_ms": percentile(lat, 50),
        "latency_p95_ms": percentile(lat, 95),
    }


def _draft_holds_reference(record: dict) -> bool:
    from rag.citations import strip_markers

    return contains_answer(strip_markers(record.get("draft") or ""), record["references"])


def summarize_answers(records: Sequence[dict]) -> dict[str, Any]:
    if not records:
        return {}
    ok = [r for r in records if "error" not in r]
    answerable = [r for r in ok if r["references"]]
    unanswerable = [r for r in ok if r["unanswerable"]]
    with_gold = [r for r in answerable if r["gold"]]
    n_markers = sum(r["n_markers"] for r in ok)
    invalid = sum(r["invalid_markers"] for r in ok)
    cited = sum(r["cited"] for r in answerable)
    total = [r["total_ms"] for r in ok]
    return {
        "n": len(records),
        "errors": len(records) - len(ok),
        "answerable": len(answerable),
        "contains_answer": mean(r["contains"] for r in answerable),
        # rows with facts: the answer holds every one (old logs have no such key)
        "facts_held": mean(r.get("facts_held") for r in ok),
        "f1": mean(r["f1"] for r in answerable),
        "cites_gold": mean(r["cites_gold"] for r in with_gold),
        "gold_in_context": mean(r["gold_in_context"] for r in with_gold),
        "markers": n_markers,
        "invalid_markers": invalid,
        "valid_marker_share": (n_markers - invalid) / n_markers if n_markers else None,
        "cited_passages": cited,
        "cited_with_answer": (sum(r["cited_with_answer"] for r in answerable) / cited)
        if cited
        else None,
        "answers_without_citation": mean(
            float(r["cited"] == 0) for r in answerable if not r["abstained"]
        ),
        "unanswerable": len(unanswerable),
        "abstention_correct": mean(float(r["abstained"]) for r in unanswerable),
        "false_abstention": mean(float(r["abstained"]) for r in answerable),
        # the declines a rule caused that cost an answer: the draft held a reference
        "declined_with_reference": mean(
            float(r["abstained"] and _draft_holds_reference(r)) for r in answerable
        ),
        "retrieval_p50_ms": percentile([r["retrieval_ms"] for r in ok], 50),
        "retrieval_p95_ms": percentile([r["retrieval_ms"] for r in ok], 95),
        "first_token_p50_ms": percentile([r["first_token_ms"] for r in ok], 50),
        # the first verified text a client sees (claims are released once checked)
        "first_text_p50_ms": percentile([r.get("first_text_ms") for r in ok], 50),
        "latency_p50_ms": percentile(total, 50),
        "latency_p95_ms": percentile(total, 95),
        "prompt_tokens_mean": mean(r["prompt_tokens"] for r in ok),
        "prompt_tokens_read_mean": mean(r.get("prompt_tokens_read") for r in ok),
    }


def _bar(items, desc: str, enabled: bool):
    return tqdm(items, desc=desc, unit="q", disable=not enabled, file=sys.stderr, smoothing=0.1)


def run_retrieval(
    pipeline, questions: Sequence[Question], depth: int, progress: bool
) -> list[dict] | None:
    warm = getattr(pipeline, "warm", None)
    if warm:  # index building is an ingest-time cost, not a per-question one
        warm()
    records = []
    for q in _bar(questions, f"retrieval: {pipeline.name}", progress):
        got = pipeline.retrieve(q.question, depth)
        if got is None:
            return None
        doc_ids, ms = got
        records.append({"id": q.id, "rank": rank_of(doc_ids, q.gold or ""), "ms": ms})
    return records


def answer_record(name: str, q: Question, out: dict) -> dict:
    score = score_answer(
        out["answer"], q.answers, out["cited"], out["n_sources"], q.gold, out["abstained"]
    )
    passages = out.get("passages")
    return {
        "id": q.id,
        "pipeline": name,
        "question": q.question,
        "references": list(q.answers),
        "gold": q.gold,
        "unanswerable": q.unanswerable,
        "answer": out["answer"],
        # what the model wrote, before grounding checks and attribution (ours only)
        "draft": out.get("draft"),
        "model_draft": out.get("model_draft"),
        "abstained": bool(out["abstained"]),
        "cited_docs": [c.doc_id for c in out["cited"]],
        "context_docs": passages,
        "gold_in_context": None
        if passages is None or q.gold is None
        else float(q.gold in passages),
        **asdict(score),
        **_facts_fields(q, out),
        # what the verification stage decided (ours only): which rule dropped what, and why
        "decisions": out["verified"].report() if out.get("verified") else None,
        **{
            k: out.get(k)
            for k in (
                "total_ms",
                "retrieval_ms",
                "first_token_ms",
                "first_text_ms",
                "prompt_tokens",
                "prompt_tokens_read",
            )
        },
    }


def _facts_fields(q: Question, out: dict) -> dict:
    """Rows with `facts`: the ones the answer misses, and whether it holds them all."""
    if not q.facts:
        return {"missing_facts": None, "facts_held": None}
    missing = missing_facts(out["answer"], q.facts, bool(out["abstained"]))
    return {"missing_facts": missing, "facts_held": float(not missing)}


Derived = tuple[str, Callable[[dict, Question], dict]]


def run_answers(
    pipeline,
    questions: Sequence[Question],
    progress: bool,
    log: Callable[[dict], None] | None = None,
    derived: Sequence[Derived] = (),
) -> dict[str, list[dict]]:
    """Records per row: the pipeline's own, and rows derived from the same generations."""
    rows: dict[str, list[dict]] = {pipeline.name: [], **{name: [] for name, _ in derived}}
    for q in _bar(questions, f"answers: {pipeline.name}", progress):
        try:
            out = pipeline.answer(q.question)
        except Exception as err:  # one failure must not sink a 90-minute run
            error = {
                "id": q.id,
                "question": q.question,
                "references": list(q.answers),
                "gold": q.gold,
                "unanswerable": q.unanswerable,
                "error": f"{type(err).__name__}: {err}",
            }
            for name in rows:
                rows[name].append({**error, "pipeline": name})
            if log:
                log(rows[pipeline.name][-1])
            continue
        rows[pipeline.name].append(answer_record(pipeline.name, q, out))
        if log:
            log(rows[pipeline.name][-1])
        for name, transform in derived:
            rows[name].append(answer_record(name, q, transform(out, q)))
    return rows


def rule_ablations(service) -> list[Derived]:
    """One row per verification rule, `ours -<rule>`: the answer with that rule switched off,
    from the same draft (rag.verify is a pure function of it). Only an answer that changes is
    presented again (and translated when in the wrong language: one more generation)."""
    from rag.answer.present import present
    from rag.verify import RULE_NAMES, verify

    base = service.verify

    def without(*rules: str) -> Callable[[dict, Question], dict]:
        config = base.model_copy(update={"rules_off": base.rules_off | set(rules)})

        def transform(out: dict, q: Question) -> dict:
            first = out.get("verified")
            if first is None:
                return out
            question, passages, language = (
                q.question.strip(),
                out["context_passages"],
                out["language"],
            )
            v = verify(
                first.draft, passages, question, language, config, service.retriever.embedder
            )
            if (v.text, v.cited, v.abstained) == (first.text, first.cited, first.abstained):
                return out
            text = None
            if not v.abstained and v.used_language != language:
                text = service.reader.translate(v.text, language, None)
            a = present(question, v, passages, language, None, text=text)
            return {**out, **_answer_fields(a), "verified": v}

        return transform

    rows = [(f"ours -{r}", without(r)) for r in RULE_NAMES if r not in base.rules_off]
    # every rule off: the drafts as the model wrote them (markers still read and renumbered)
    return [*rows, ("ours -verification", without(*RULE_NAMES))]


@dataclass
class EvalRun:
    config: EvalConfig
    dataset: Dataset
    settings: Settings
    retrieval_questions: list[Question]
    answer_questions: list[Question]
    results: list[PipelineResult]
    started: str
    seconds: float


def select_questions(
    dataset: Dataset, config: EvalConfig, extra: Dataset | None
) -> tuple[list[Question], list[Question]]:
    # The dataset holds the extra questions too (same corpus): sample only its own.
    extra_ids = {id(q) for q in extra.questions} if extra is not None else set()
    own = [q for q in dataset.questions if id(q) not in extra_ids]
    if config.split:
        own = questions_in_split(dataset, own, config.split)
    main, answer = sample_questions(own, config.limit, config.answer_limit, config.seed)
    retrieval = [q for q in main if q.gold and not q.unanswerable]
    if extra is not None:  # extra questions are always asked, never sampled away
        answer = answer + extra.questions
        retrieval += [q for q in extra.questions if q.gold and not q.unanswerable]
    return retrieval, answer


def questions_in_split(
    dataset: Dataset, questions: Sequence[Question], split: str
) -> list[Question]:
    _, ids = read_split(dataset, split)
    return [q for q in questions if q.id in ids]


def load(config: EvalConfig) -> tuple[Dataset, Dataset | None]:
    dataset = load_dataset(config.dataset, config.language)
    extra = None
    if config.extra:
        extra = load_dataset(config.extra, dataset.language)
        dataset = add_questions(dataset, extra)
    if config.corpus:
        dataset = with_corpus(dataset, read_corpus(config.corpus), config.corpus)
    return dataset, extra


def fill_collection(config: EvalConfig, dataset: Dataset, settings: Settings, engines):
    """The corpus files (`--corpus`), else one document per paragraph of the dataset."""
    if config.corpus:
        return ingest_corpus(config.corpus, dataset.paragraphs, settings, engines, config.progress)
    return ingest_dataset(dataset, settings, engines, config.progress)


def ingest_dataset(dataset: Dataset, settings: Settings, engines, progress: bool = True):
    """One document per paragraph, through the ingestion service; what the collection already
    holds is skipped."""
    from ingest.readers import content_hash
    from ingest.service import IngestionService
    from rag.schema import Document

    documents = [
        Document(
            doc_id=p.id,
            title=p.title,
            text=p.text,
            source=f"{dataset.name}#{p.id}",
            language=p.language,
            content_hash=content_hash(p.title, p.text),
        )
        for p in dataset.paragraphs
    ]
    ingestion = IngestionService(settings, engines)
    ingestion.prepare(progress)
    return ingestion.ingest_documents(documents, progress=progress)


def run(config: EvalConfig) -> EvalRun:
    from rag.components import make_engines, make_llm, make_service
    from rag.llm import ScriptedLLM
    from rag.retrieval import HybridRetriever

    started = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    t_start = time.perf_counter()
    settings = config.settings()
    dataset, extra = load(config)
    retrieval_qs, answer_qs = select_questions(dataset, config, extra)
    if config.answers_only:
        retrieval_qs = []  # the answers' own retrieval still runs (and is timed)
    need_llm = not config.retrieval_only and bool(answer_qs)
    log_file = config.log.open("a", encoding="utf-8") if config.log else None

    def log(record: dict) -> None:
        if log_file:
            log_file.write(json.dumps(record, ensure_ascii=False) + "\n")
            log_file.flush()

    engines = make_engines(settings)
    llm = make_llm(settings.models) if need_llm else None  # its prompt cache is bounded
    pipelines: list[Any] = []
    if config.url:
        remote = OursRemote(config.url, config.top_k)
        remote.check(len(dataset.paragraphs))
        pipelines.append(remote)
    else:
        fill_collection(config, dataset, settings, engines)

        def retriever(**options: Any) -> HybridRetriever:
            if config.candidates is not None:
                options.setdefault("candidates", config.candidates)
            return HybridRetriever(engines.store, engines.embedder, engines.index, **options)

        # Our LLM calls go through a counter too (prompt tokens actually read, after the
        # cached prefix); the baseline gets its own counter around the same model.
        def service_for(s: Settings):
            service = make_service(
                s, engines=engines, llm=CountingLLM(llm) if llm else ScriptedLLM()
            )
            service.retriever = retriever(
                **({"mode": config.retrieval} if config.retrieval else {})
            )
            return service

        service = service_for(settings)
        pipelines.append(OursInProcess("ours", service))
        for name, updates in config.variants:
            # validated like the environment would be (a typo fails here, not mid-run)
            pipelines.append(
                OursInProcess(f"ours, {name}", service_for(settings.changed(**updates)))
            )
        if config.ablation:
            for name, options in ABLATIONS:
                pipelines.append(OursInProcess(f"ours ({name})", service, retriever(**options)))
    if config.baseline:
        from evaluation.baseline import DefaultLlamaIndexPipeline, make_embed_model

        pipelines.append(
            DefaultLlamaIndexPipeline(
                dataset.paragraphs,
                settings.store.data_dir / "baseline-chroma",
                f"baseline-{_slug(dataset.name)}-v2",
                make_embed_model(settings.models.embed_model_path),
                llm,
                progress=config.progress,
            )
        )

    results = []
    for p in pipelines:
        result = PipelineResult(p.name)
        records = (
            run_retrieval(p, retrieval_qs, config.depth, config.progress) if retrieval_qs else None
        )
        if records is not None:
            result.retrieval = summarize_retrieval(records, config.depth)
            result.per_question = {r["id"]: {"rank": r["rank"]} for r in records}
        results.append(result)
    if need_llm:
        for p, own in zip(pipelines, list(results), strict=True):
            if not hasattr(p, "answer") or p.name.startswith("ours ("):
                continue
            derived: Sequence[Derived] = ()
            if isinstance(p, OursInProcess) and config.derived and p.name == "ours":
                derived = rule_ablations(p.service)
            rows = run_answers(p, answer_qs, config.progress, log, derived)
            for name, records in rows.items():
                if name != p.name:
                    result = PipelineResult(name)
                    results.insert(results.index(own) + 1, result)
                else:
                    result = own
                result.answers = summarize_answers(records)
                for r in records:
                    result.per_question.setdefault(r["id"], {}).update(
                        {k: v for k, v in r.items() if k not in ("id", "question", "references")}
                    )
    if log_file:
        log_file.close()
    return EvalRun(
        config=config,
        dataset=dataset,
        settings=settings,
        retrieval_questions=retrieval_qs,
        answer_questions=answer_qs if need_llm else [],
        results=results,
        started=started,
        seconds=time.perf_counter() - t_start,
    )
