"""Filtered retrieval: p50/p95 with publication-day and outlet filters beside none, ~10k passages.

    rag bench filtered_retrieval                       # builds the store once, then measures
    rag bench filtered_retrieval --questions 200 --rounds 2

The store (cached in --data-dir; a rerun measures at once, an interrupted build resumes): the
PIAF and XQuAD dev paragraphs, one article each, then distractor articles of 8 paragraphs
recombined from other paragraphs' sentences (evaluation.bench._workloads.ScaleCorpus), every
article with a publication day drawn over three years and one of five outlets, written as
JSON-lines exports (title, content, date, source, language, id) and read by the ingestion's own
reader, embedded by the configured embedder (multilingual-e5-small by default).

Each planted dev question is searched in this process (`HybridRetriever.search`, top 5,
reprints folded, as the service does) under every condition, interleaved question by
question in a rotating order: no filter; the year, the calendar month and the day of its gold
article; its gold article's outlet. Every window contains the gold article, so recall@5 (the
gold article among the 5) says whether a filtered search still finds its best passages. Each
search is timed whole (the question embedded) and with the question's vector computed
beforehand (what the filter costs shows better without the model's 10-25 ms), and both again
as before the passage index's filter index (`Before`: Chroma's own `where`, a keyword search
joining every match's row): before and now in one run. Also timed alone, on the same
precomputed vector: the vector search (ids from the filter index, then Chroma; before:
Chroma's `where`) and the keyword search (SQLite FTS5), now and before. Warm-up questions come
first and are not counted. Δ: the filter's p50 minus that of no filter, and in brackets the
median of the differences question by question (steadier when other jobs share the CPU).
"""

from __future__ import annotations

import argparse
import calendar
import json
import os
import random
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from evaluation.bench._measures import pct
from evaluation.bench._workloads import ROOT, ScaleCorpus

FIRST_DAY, LAST_DAY = date(2022, 1, 1), date(2024, 12, 31)
# Unequal shares, so one outlet is a filter of ~10% and another of ~30% of the passages.
OUTLETS = (
    ("Le Quotidien", 0.30),
    ("La Gazette", 0.25),
    ("L’Écho du Sud", 0.20),
    ("Le Courrier", 0.15),
    ("Dépêches", 0.10),
)
CONDITIONS = ("none", "year", "month", "outlet", "day")
LABELS = {
    "none": "none",
    "year": "the gold article's year",
    "month": "its month",
    "outlet": "its outlet",
    "day": "its day",
}
# each search timed in these forms: the retriever with and without the question's embedding,
# both also as before the filter index (`Before`), and each half alone, now and before
KINDS = (
    "whole",
    "no_embed",
    "whole_before",
    "no_embed_before",
    "vector",
    "vector_before",
    "keyword",
    "keyword_before",
)
PLANTED = 300  # dev questions held out of the distractors (the first ones are asked)
SHARD = 250  # articles per export file (the reader refuses files over 20 MB)


@dataclass(frozen=True)
class Article:
    key: str  # the corpus id: a dev paragraph's id, or d000001 for a distractor
    title: str
    paragraphs: tuple[str, ...]
    language: str
    published: date
    outlet: str


def build_articles(target: int, seed: int, corpus: ScaleCorpus) -> list[Article]:
    """The dev paragraphs (one article each), then distractors, until `target` paragraphs;
    each article dated and attributed by a seeded draw."""
    rng = random.Random(seed)
    span = (LAST_DAY - FIRST_DAY).days
    names, weights = zip(*OUTLETS, strict=True)
    languages = {p_id: lang for lang, ps in _dev_ids().items() for p_id in ps}
    french_titles = set(corpus.pools["fr"][1])  # a distractor is titled from its language
    articles: list[Article] = []
    n = 0
    while n < target:
        day = FIRST_DAY + timedelta(days=rng.randint(0, span))
        outlet = rng.choices(names, weights)[0]
        if n < len(corpus.real):
            key, title, text = corpus.real[n]
            articles.append(Article(key, title, (text,), languages[key], day, outlet))
            n += 1
        else:
            key, body = corpus.distractor_article()
            title, rest = body.split("\n\n", 1)
            paragraphs = tuple(rest.split("\n\n"))
            lang = "fr" if title in french_titles else "en"
            articles.append(Article(key, title, paragraphs, lang, day, outlet))
            n += len(paragraphs)
    return articles


def _dev_ids() -> dict[str, list[str]]:
    from evaluation.bench._workloads import DEV_SETS
    from evaluation.datasets import load_squad

    return {lang: [p.id for p in load_squad(path).paragraphs] for lang, path in DEV_SETS.items()}


def write_exports(articles: Sequence[Article], folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(0, len(articles), SHARD):
        path = folder / f"articles-{i // SHARD:03d}.jsonl"
        lines = [
            json.dumps(
                {
                    "id": a.key,
                    "title": a.title,
                    "content": "\n\n".join(a.paragraphs),
                    "date": a.published.isoformat(),
                    "source": a.outlet,
                    "language": a.language,
                },
                ensure_ascii=False,
            )
            for a in articles[i : i + SHARD]
        ]
        path.write_text("\n".join(lines) + "\n")
        paths.append(path)
    return paths


def read_exports(paths: Sequence[Path]) -> list:
    """The documents the ingestion's reader makes of the exports, in order (a Document per
    article); stops on any error, naming it."""
    from ingest.readers import read_source

    documents = []
    for path in paths:
        read = read_source(path.name, path.read_bytes(), source=str(path))
        if read.errors:
            raise SystemExit(f"{path}: {read.errors[:3]}")
        documents += read.documents
    return documents


class PrecomputedQueries:
    """An embedder whose query vectors were computed beforehand: retrieval without the model."""

    def __init__(self, embedder, vectors: dict[str, np.ndarray]) -> None:
        self.name, self.dim, self.text_form = embedder.name, embedder.dim, embedder.text_form
        self._vectors = vectors

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return np.stack([self._vectors[t] for t in texts])

    def embed_passages(self, texts, progress=None):  # pragma: no cover - never called
        raise NotImplementedError("query vectors only")


class Before:
    """The passage index as the filtered searches read it before the filter index (commit
    1be18d5): it finds no ids for a filter, so the vector search filters through Chroma's own
    `where`; its keyword search joins every match's row to test the filter (the filter
    columns come after the sentence vectors in a row, on overflow pages)."""

    def __init__(self, index) -> None:
        self._index = index

    def meeting(self, filters) -> None:
        return None

    def search(self, query: str, language: str, k: int, filters=None) -> list[tuple[str, float]]:
        from rag.text import analyse

        if not filters:
            return self._index.search(query, language, k)
        terms = list(dict.fromkeys(analyse(query, language)))
        if not terms or k <= 0:
            return []
        match = " OR ".join('"' + t.replace('"', '""') + '"' for t in terms)
        conditions, params = filters.sql()
        t = self._index._t
        rows = self._index._conn().execute(
            f"SELECT c.chunk_id, bm25({t}_fts) AS rank FROM {t}_fts JOIN {t} c "
            f"ON c.row = {t}_fts.rowid WHERE {t}_fts MATCH ?{conditions} ORDER BY rank LIMIT ?",
            (match, *params, k),
        )
        return [(cid, -float(rank)) for cid, rank in rows]

    def __getattr__(self, name: str):
        return getattr(self._index, name)


def month_of(day: date) -> tuple[date, date]:
    last = calendar.monthrange(day.year, day.month)[1]
    return day.replace(day=1), day.replace(day=last)


def condition_filters(name: str, article: Article):
    from rag.filters import Filters

    day = article.published
    if name == "none":
        return None
    if name == "year":
        return Filters(date(day.year, 1, 1), date(day.year, 12, 31))
    if name == "month":
        return Filters(*month_of(day))
    if name == "outlet":
        return Filters(outlets=(article.outlet,))
    if name == "day":
        return Filters(day, day)
    raise ValueError(name)


def passages_meeting(documents, filters) -> int:
    """Stored passages that meet `filters` (from the documents' records)."""
    from rag.schema import published_day

    if filters is None:
        return sum(d.n_chunks for d in documents)
    low = filters.published_after and int(filters.published_after.strftime("%Y%m%d"))
    high = filters.published_before and int(filters.published_before.strftime("%Y%m%d"))
    total = 0
    for d in documents:
        day = published_day(d.published)
        if (low and day < low) or (high and day > high):
            continue
        if filters.outlets and d.outlet not in filters.outlets:
            continue
        total += d.n_chunks
    return total


def timed(fn: Callable[..., Any], *args: Any) -> tuple[float, Any]:
    """Milliseconds `fn(*args)` took, and what it returned."""
    t = time.perf_counter()
    out = fn(*args)
    return (time.perf_counter() - t) * 1000, out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="rag bench filtered_retrieval",
        description=__doc__,
        formatter_class=argparse.RawTextHelpFormatter,
    )
    parser.add_argument("--passages", type=int, default=10_000, help="paragraphs in the corpus")
    parser.add_argument("--questions", type=int, default=150, help="planted questions timed")
    parser.add_argument("--warmup", type=int, default=20, help="questions asked first, not counted")
    parser.add_argument("--rounds", type=int, default=1, help="times every question is asked")
    parser.add_argument("--seed", type=int, default=3, help="dates and outlets")
    parser.add_argument(
        "--data-dir", type=Path, default=ROOT / "artifacts" / "bench-filtered", help="the store"
    )
    parser.add_argument(
        "--embedder",
        choices=("sentence-transformers", "hashing"),
        default="sentence-transformers",
        help="hashing: a quick check of the bench itself (its own --data-dir)",
    )
    args = parser.parse_args(argv)

    from ingest.service import IngestionService
    from rag.components import make_engines
    from rag.settings import Settings

    if args.questions + args.warmup > PLANTED:
        parser.error(f"--questions + --warmup: at most {PLANTED}")
    # always PLANTED questions held out of the distractors, so the corpus (and the cached
    # store) stays the same whatever --questions is
    corpus = ScaleCorpus(PLANTED)
    articles = build_articles(args.passages, args.seed, corpus)
    by_key = {a.key: a for a in articles}
    exports = write_exports(articles, args.data_dir / "exports")
    documents = read_exports(exports)
    doc_of = {a.key: d.doc_id for a, d in zip(articles, documents, strict=True)}

    settings = Settings(data_dir=args.data_dir / "data", embedder=args.embedder, llm="scripted")
    engines = make_engines(settings)
    ingestion = IngestionService(settings, engines)
    ingestion.prepare(progress=False)
    stored = engines.store.document_count()
    if stored != len(documents):  # unchanged documents are skipped: a resumed build is cheap
        print(
            f"ingesting {len(documents)} articles (~{args.passages} passages; {stored} stored) "
            f"into {settings.store.data_dir} with {engines.embedder.name}",
            file=sys.stderr,
        )
        t = time.monotonic()
        ingested = ingestion.ingest_documents(documents, progress=True)
        print(f"{ingested.summary()} in {time.monotonic() - t:.0f} s", file=sys.stderr)
    records = engines.store.documents()
    n_passages = engines.store.count()
    asked = corpus.questions[: args.warmup + args.questions]
    rows = measure(engines, asked, args, by_key, doc_of, records)
    print_tables(rows, n_passages, len(records), engines.embedder.name, args)
    return 0


def measure(engines, asked, args, by_key, doc_of, records) -> list[dict]:
    """Every question under every condition (the order turning from one question to the
    next), each search timed in each form (the forms in a shuffled order); the first
    `--warmup` questions are not counted."""
    from rag.language import detect_language
    from rag.retrieval import HybridRetriever

    texts = [q for q, _ in asked]
    vectors = dict(zip(texts, engines.embedder.embed_queries(texts), strict=True))
    languages = {q: detect_language(q) for q in texts}
    precomputed = PrecomputedQueries(engines.embedder, vectors)
    store, index, stories = engines.store, engines.index, engines.stories
    before = Before(index)
    retrievers = {
        "whole": HybridRetriever(store, engines.embedder, index, stories=stories),
        "no_embed": HybridRetriever(store, precomputed, index, stories=stories),
        "whole_before": HybridRetriever(store, engines.embedder, before, stories=stories),
        "no_embed_before": HybridRetriever(store, precomputed, before, stories=stories),
    }
    times = {c: {kind: [] for kind in KINDS} for c in CONDITIONS}
    hits = {c: {"now": 0, "before": 0} for c in CONDITIONS}
    meeting: dict[str, list[int]] = {c: [] for c in CONDITIONS}
    shuffle = random.Random(args.seed)
    warm, counted = asked[: args.warmup], asked[args.warmup :]
    for r in range(args.rounds + 1):  # round 0: warm-up
        for i, (question, gold) in enumerate(warm if r == 0 else counted):
            turn = i % len(CONDITIONS)
            for name in CONDITIONS[turn:] + CONDITIONS[:turn]:
                filters = condition_filters(name, by_key[gold])
                where = filters.where() if filters else None
                vector = vectors[question]
                calls = {
                    kind: (retrievers[kind].search, question, 5, None, filters)
                    for kind in retrievers
                } | {
                    "vector": (
                        lambda v, w, f: store.query(v, 30, w, index.meeting(f) if f else None),
                        vector, where, filters,
                    ),
                    "vector_before": (store.query, vector, 30, where),
                    "keyword": (index.search, question, languages[question], 30, filters),
                    "keyword_before": (before.search, question, languages[question], 30, filters),
                }  # fmt: skip
                kinds = list(calls)  # each profits from the caches the others warmed
                shuffle.shuffle(kinds)
                results = {kind: timed(*calls[kind]) for kind in kinds}
                if r == 0:
                    continue
                for kind, (ms, _) in results.items():
                    times[name][kind].append(ms)
                if r == 1:
                    for path, kind in (("now", "whole"), ("before", "whole_before")):
                        ranked = [p.chunk.doc_id for p in results[kind][1].passages[:5]]
                        hits[name][path] += doc_of[gold] in ranked
                    meeting[name].append(passages_meeting(records, filters))
        print(f"round {r} done", file=sys.stderr)
    n = len(counted)
    rows = []
    for name in CONDITIONS:
        p50 = {kind: pct(times[name][kind], 0.5) for kind in KINDS}
        p95 = {kind: pct(times[name][kind], 0.95) for kind in KINDS}
        base = {kind: pct(times["none"][kind], 0.5) for kind in KINDS}
        rows.append(
            {
                "condition": name,
                "passages_meeting_mean": round(sum(meeting[name]) / n),
                "passages_meeting_min": min(meeting[name]),
                **{f"{kind}_p50_ms": round(p50[kind], 1) for kind in KINDS},
                **{f"{kind}_p95_ms": round(p95[kind], 1) for kind in KINDS},
                **{f"{kind}_delta_p50_ms": round(p50[kind] - base[kind], 1) for kind in KINDS},
                # the same question's search with and without the filter, a moment apart:
                # steadier than a difference of medians on a loaded machine
                **{f"{kind}_paired_delta_ms": paired(times, name, kind) for kind in KINDS},
                "recall_at_5": round(hits[name]["now"] / n, 3),
                "recall_at_5_before": round(hits[name]["before"] / n, 3),
                "questions": n,
            }
        )
    return rows


def paired(times: dict, name: str, kind: str) -> float:
    """The median of the differences, question by question, from no filter to `name`."""
    pairs = zip(times[name][kind], times["none"][kind], strict=True)
    return round(pct([a - b for a, b in pairs], 0.5), 1)


def print_tables(rows: list[dict], passages: int, articles: int, embedder: str, args) -> None:
    load = os.getloadavg()
    out = args.data_dir / "results.json"
    summary = {
        "passages": passages,
        "articles": articles,
        "rounds": args.rounds,
        "embedder": embedder,
        "load_average": [round(x, 2) for x in load],
        "rows": rows,
    }
    out.write_text(json.dumps(summary, indent=2, ensure_ascii=False))
    print(
        f"\n{passages:,} passages in {articles:,} articles, {rows[0]['questions']} questions x "
        f"{args.rounds} round(s), {embedder}; load average {load[0]:.2f} {load[1]:.2f} "
        f"{load[2]:.2f}\n"
    )
    print(
        "| filter | passages meeting it (mean, min) | search p50 / p95 ms | Δ p50 (paired) | "
        "without embedding p50 / p95 ms | Δ p50 (paired) | recall@5 |\n"
        "|---|---|---|---|---|---|---|"
    )
    for row in rows:
        print(
            f"| {LABELS[row['condition']]} | {row['passages_meeting_mean']:,} "
            f"({row['passages_meeting_min']:,}) | {row['whole_p50_ms']} / {row['whole_p95_ms']} "
            f"| {row['whole_delta_p50_ms']:+} ({row['whole_paired_delta_ms']:+}) | "
            f"{row['no_embed_p50_ms']} / {row['no_embed_p95_ms']} | "
            f"{row['no_embed_delta_p50_ms']:+} ({row['no_embed_paired_delta_ms']:+}) | "
            f"{row['recall_at_5']} |"
        )
    print(
        "\nBefore the filter index (Chroma's `where`; the keyword search joining every match's "
        "row) and now (the ids and rows from the filter index), same run, p50 ms (Δ to no "
        "filter):\n\n| filter | search, before → now | without embedding, before → now | "
        "vector search alone, before → now | keyword search alone, before → now | recall@5 "
        "before → now |\n|---|---|---|---|---|---|"
    )
    for row in rows[1:]:
        cells = [
            f"{row[f'{kind}_before_p50_ms']} ({row[f'{kind}_before_delta_p50_ms']:+}) → "
            f"{row[f'{kind}_p50_ms']} ({row[f'{kind}_delta_p50_ms']:+})"
            for kind in ("whole", "no_embed", "vector", "keyword")
        ]
        print(
            f"| {LABELS[row['condition']]} | {' | '.join(cells)} | "
            f"{row['recall_at_5_before']} → {row['recall_at_5']} |"
        )
    print(f"\nwrote {out}")


if __name__ == "__main__":
    sys.exit(main())
