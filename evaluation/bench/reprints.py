"""Reprints: whether folding near-duplicate articles into stories keeps the top 5 diverse.

A corpus of our own: N real stories (PIAF dev articles, each article's paragraphs joined,
with its questions), each reprinted k times by other outlets with realistic edits: always a
new headline, another outlet and date; then at least one of a trimmed ending (the last 25-45%
of the sentences gone), an extended ending (an agency credit, a reminder of the facts and the
outlet's newsletter pitch), one paragraph changed (a sentence dropped, an outlet's sentence
added) and two paragraphs swapped (or a sentence moved in a one-paragraph article).

Ingested through the service's ingestion (ingest.service.IngestionService, a real Chroma and
passage index; hashing embedder unless `--embedder sentence-transformers`), the PIAF
questions are asked and the gold story is any document of the question's article's story:
  (a) the originals only: recall@5;
  (b) originals and reprints, plain retrieval: distinct stories in the top 5, recall@5;
  (c) the same, one passage per story: the top `--depth` passages collapsed by
      StoryIndex.story, the first 5 distinct stories kept (also shown for (a), where a
      story is an article: several of its passages no longer fill the top 5).
And the grouping itself (StoryIndex over every document, in a shuffled order): pairwise
precision and recall of "same story" against the truth, for `--grid` shingle sizes and
thresholds too.

    rag bench reprints                      # hashing embedder, every PIAF dev article, k=3
    rag bench reprints --embedder sentence-transformers
    rag bench reprints --grid --no-retrieval
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

DEFAULT_PIAF = (
    Path(__file__).resolve().parents[2].parent / "shared" / "data" / "piaf" / "piaf-v1.1-dev.json"
)
OUTLETS = (
    "Le Courrier du Sud", "La Dépêche de l'Est", "Nord Matin", "L'Écho du Centre",
    "Le Journal des Alpes", "Ouest Info", "Le Républicain lorrain", "La Gazette de Lyon",
    "Corse Actu", "Le Petit Breton", "Midi Libre Soir", "L'Union du Nord",
)  # fmt: skip
_HEADLINES = (
    "{title} : ce qu'il faut retenir",
    "{title}, le point",
    "« {title} » : les dernières informations",
    "INFO {outlet}. {title}",
    "{title} — notre décryptage",
    "Ce que l'on sait sur {title}",
)
_EDITS = {"trim": 0.5, "extend": 0.5, "change": 0.5, "move": 0.3}  # the odds of each edit
_SENTENCE = re.compile(r"(?<=[.!?…])\s+(?=[«\"A-ZÀ-ÖØ-Þ0-9])")


@dataclass(frozen=True)
class Question:
    text: str
    story: str  # the id of the gold story (its original's doc id)


@dataclass(frozen=True)
class Article:
    doc_id: str
    story: str  # truth: the id of the story it carries
    title: str
    text: str
    outlet: str
    published: date
    edits: tuple[str, ...] = ()


@dataclass
class Corpus:
    originals: list[Article]
    reprints: list[Article]
    questions: list[Question]
    stats: dict[str, int] = field(default_factory=dict)


def load_stories(path: Path, limit: int | None = None) -> tuple[list[Article], list[Question]]:
    """Each PIAF article (its paragraphs joined) as an original, with its questions."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))["data"]
    from evaluation.datasets import clean_title

    originals, questions = [], []
    rng = random.Random(7)
    for i, article in enumerate(data[:limit] if limit else data):
        doc_id = f"story{i:03d}"
        paragraphs = [p["context"].strip() for p in article["paragraphs"]]
        published = date(2020, 1, 1) + timedelta(days=rng.randrange(0, 700))
        originals.append(
            Article(
                doc_id,
                doc_id,
                clean_title(article["title"]),
                "\n\n".join(paragraphs),
                OUTLETS[i % len(OUTLETS)],
                published,
            )
        )
        questions += [
            Question(qa["question"].strip(), doc_id)
            for p in article["paragraphs"]
            for qa in p["qas"]
        ]
    return originals, questions


def _sentences(paragraph: str) -> list[str]:
    return [s for s in _SENTENCE.split(paragraph) if s.strip()]


def reprint(original: Article, n: int, rng: random.Random) -> Article:
    """The `n`-th reprint of a story by another outlet, with realistic edits."""
    outlet = rng.choice([o for o in OUTLETS if o != original.outlet])
    title = rng.choice(_HEADLINES).format(title=original.title, outlet=outlet.upper())
    paragraphs = [_sentences(p) for p in original.text.split("\n\n")]
    edits = ["headline"]
    chosen = [e for e, odds in _EDITS.items() if rng.random() < odds] or [rng.choice(list(_EDITS))]
    if "change" in chosen:
        i = rng.randrange(len(paragraphs))
        if len(paragraphs[i]) > 1:
            del paragraphs[i][rng.randrange(len(paragraphs[i]))]
        paragraphs[i].insert(
            rng.randrange(len(paragraphs[i]) + 1),
            f"Contacté par {outlet}, un porte-parole n'a pas souhaité faire de commentaire.",
        )
        edits.append("change")
    if "move" in chosen:
        if len(paragraphs) > 1:
            a, b = rng.sample(range(len(paragraphs)), 2)
            paragraphs[a], paragraphs[b] = paragraphs[b], paragraphs[a]
        elif len(paragraphs[0]) > 2:
            paragraphs[0].insert(1, paragraphs[0].pop())
        edits.append("move")
    if "trim" in chosen:
        flat = [(i, s) for i, p in enumerate(paragraphs) for s in p]
        keep = max(2, round(len(flat) * (1 - rng.uniform(0.25, 0.45))))
        if keep < len(flat):
            kept = flat[:keep]
            paragraphs = [[s for j, s in kept if j == i] for i in range(len(paragraphs))]
            paragraphs = [p for p in paragraphs if p]
            edits.append("trim")
    if "extend" in chosen:
        first = original.text.split("\n\n")[0]
        reminder = _sentences(first)[0]
        paragraphs.append([f"Pour rappel : {reminder[0].lower()}{reminder[1:]}"])
        paragraphs.append(
            [
                "(Avec AFP)",
                f"Retrouvez toute l'actualité sur le site de {outlet} et abonnez-vous à notre "
                "lettre d'information pour recevoir l'essentiel chaque matin.",
            ]
        )
        edits.append("extend")
    text = "\n\n".join(" ".join(p) for p in paragraphs)
    published = original.published + timedelta(days=rng.randrange(0, 4))
    doc_id = f"{original.doc_id}-r{n}"
    return Article(doc_id, original.story, title, text, outlet, published, tuple(edits))


def make_corpus(path: Path, stories: int | None, copies: int, seed: int = 1) -> Corpus:
    originals, questions = load_stories(path, stories)
    rng = random.Random(seed)
    reprints = [reprint(o, n, rng) for o in originals for n in range(1, copies + 1)]
    stats = {"stories": len(originals), "reprints": len(reprints), "questions": len(questions)}
    return Corpus(originals, reprints, questions, stats)


# --- grouping ---------------------------------------------------------------------------


def pairwise(truth: dict[str, str], found: dict[str, str]) -> tuple[float, float]:
    """Precision and recall of the pairs of documents put in one story."""

    def pairs(groups: dict[str, str]) -> set[tuple[str, str]]:
        by: dict[str, list[str]] = {}
        for doc, story in groups.items():
            by.setdefault(story, []).append(doc)
        return {(a, b) for docs in by.values() for a in docs for b in docs if a < b}

    true, said = pairs(truth), pairs(found)
    precision = len(true & said) / len(said) if said else 1.0
    recall = len(true & said) / len(true) if true else 1.0
    return precision, recall


def group(articles: Sequence[Article], index_path: Path, name: str, **options) -> dict[str, str]:
    from rag.stories import StoryIndex

    index = StoryIndex(index_path, name, **options)
    return {a.doc_id: index.add(a.doc_id, a.text) for a in articles}


def grouping_table(corpus: Corpus, folder: Path, grid: bool, seed: int) -> list[str]:
    from rag import stories as r

    articles = [*corpus.originals, *corpus.reprints]
    random.Random(seed).shuffle(articles)  # the original is not always first
    truth = {a.doc_id: a.story for a in articles}
    settings = [(r.SHINGLE, r.CONTAINMENT, r.LSH_THRESHOLD, r.MERGE_JACCARD)]
    if grid:
        settings = [
            (k, c, t, merge)
            for k in (3, 5, 7)
            for c in (0.4, 0.5, 0.6, 0.7)
            for t in (0.2, 0.3)
            for merge in (None, 0.4, 0.5)
        ]
    lines = [
        "| shingle | containment | LSH threshold | merge from Jaccard "
        "| pairs precision | pairs recall | stories found | ms per add |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for n, (k, c, t, merge) in enumerate(settings):
        t0 = time.perf_counter()
        found = group(
            articles,
            folder / "grouping.sqlite3",
            f"g{n}",
            shingle=k,
            containment=c,
            lsh_threshold=t,
            merge_jaccard=merge,
        )
        ms = (time.perf_counter() - t0) * 1000 / len(articles)
        p, rec = pairwise(truth, found)
        lines.append(
            f"| {k} | {c} | {t} | {merge or 'no merge'} | {p:.3f} | {rec:.3f} "
            f"| {len(set(found.values()))} (truth {len(set(truth.values()))}) | {ms:.2f} |"
        )
    return lines


def scale_table(path: Path, folder: Path, documents: int, seed: int) -> list[str]:
    """Time StoryIndex.add and .remove per document at `documents` documents: articles of 8
    sentences drawn from every PIAF dev sentence (mostly distinct, as most articles are),
    every tenth one a reprint of an earlier one."""
    from rag.stories import StoryIndex

    originals, _ = load_stories(path)
    pool = [s for o in originals for p in o.text.split("\n\n") for s in _sentences(p)]
    rng = random.Random(seed)
    texts: list[str] = []
    for i in range(documents):
        if i % 10 == 9:
            base = Article("x", "x", "t", texts[rng.randrange(len(texts))], "o", date(2020, 1, 1))
            texts.append(reprint(base, i, rng).text)
        else:
            texts.append(" ".join(rng.sample(pool, 8)))
    index = StoryIndex(folder / "scale.sqlite3", "scale")
    t0 = time.perf_counter()
    for i, text in enumerate(texts[:-500]):
        index.add(f"d{i}", text)
    fill = time.perf_counter() - t0
    t0 = time.perf_counter()
    for i in range(len(texts) - 500, len(texts)):
        index.add(f"d{i}", texts[i])
    add_ms = (time.perf_counter() - t0) * 2  # per document, over 500
    gone = rng.sample(range(len(texts)), 500)
    t0 = time.perf_counter()
    for i in gone:
        index.remove(f"d{i}")
    remove_ms = (time.perf_counter() - t0) * 2
    t0 = time.perf_counter()
    StoryIndex(folder / "scale.sqlite3", "scale").add("new", texts[0])  # rebuilds from SQLite
    reopen = time.perf_counter() - t0
    return [
        "| documents | filling (s) | add at that size (ms/doc) | remove (ms/doc) "
        "| first add after opening (s) |",
        "|---|---|---|---|---|",
        f"| {documents} | {fill:.1f} | {add_ms:.2f} | {remove_ms:.2f} | {reopen:.2f} |",
    ]


# --- retrieval ----------------------------------------------------------------------------


@dataclass
class Ranked:
    stories: list[str]  # truth story of each passage kept, best first
    gold: str


def summarise(name: str, ranked: list[Ranked], k: int = 5) -> str:
    distinct = sum(len(set(r.stories[:k])) for r in ranked) / len(ranked)
    full = sum(len(set(r.stories[:k])) == k for r in ranked) / len(ranked)
    recall = sum(r.gold in r.stories[:k] for r in ranked) / len(ranked)
    return f"| {name} | {distinct:.2f} | {full:.3f} | {recall:.3f} |"


def run_retrieval(corpus: Corpus, folder: Path, embedder: str, depths: Sequence[int]) -> list[str]:
    from ingest.readers import content_hash
    from ingest.service import IngestionService
    from rag.components import make_engines
    from rag.retrieval import HybridRetriever
    from rag.schema import Document
    from rag.settings import Settings

    def documents(articles: Sequence[Article]) -> list[Document]:
        return [
            Document(
                doc_id=a.doc_id,
                title=a.title,
                text=a.text,
                source=f"bench:{a.outlet}:{a.published.isoformat()}",
                language="fr",
                content_hash=content_hash(a.title, a.text),
            )
            for a in articles
        ]

    truth = {a.doc_id: a.story for a in [*corpus.originals, *corpus.reprints]}
    lines = [
        "| corpus, retrieval | distinct stories in the top 5 | top 5 all distinct | "
        "recall@5 of the gold story |",
        "|---|---|---|---|",
    ]
    for label, articles in (("without", corpus.originals), ("with", corpus.reprints)):
        settings = Settings(data_dir=folder / f"data-{label}", embedder=embedder, llm="scripted")
        engines = make_engines(settings)
        ingestion = IngestionService(settings, engines)
        ingestion.prepare(progress=False)
        t0 = time.perf_counter()
        docs = documents(corpus.originals if label == "without" else [*corpus.originals, *articles])
        ingestion.ingest_documents(docs, progress=True)
        print(
            f"ingested {len(docs)} documents in {time.perf_counter() - t0:.0f} s", file=sys.stderr
        )
        retriever = HybridRetriever(engines.store, engines.embedder, engines.index)
        from rag.stories import StoryIndex

        index = StoryIndex(settings.store.index_path, settings.store.collection)
        for d in docs:
            index.add(d.doc_id, d.text)
        plain: list[Ranked] = []
        folded: dict[int, list[Ranked]] = {d: [] for d in depths}
        for q in corpus.questions:
            passages = retriever.search(q.text, max(depths), "fr").passages
            ranked = [p.chunk.doc_id for p in passages]
            plain.append(Ranked([truth[d] for d in ranked[:5]], q.story))
            stories = index.stories(ranked)
            for depth in depths:
                kept: dict[str, str] = {}  # found story: truth story of its best passage
                for d in ranked[:depth]:
                    kept.setdefault(stories.get(d, d), truth[d])
                folded[depth].append(Ranked(list(kept.values()), q.story))
        name = "(a) no reprints" if label == "without" else f"(b) with {len(articles)} reprints"
        lines.append(summarise(f"{name}, plain", plain))
        for depth in depths:
            lines.append(summarise(f"{name}, one passage per story (top {depth})", folded[depth]))
    return lines


def _rank(retriever, q: Question, k: int, truth: dict[str, str]) -> Ranked:
    passages = retriever.search(q.text, k, "fr").passages
    return Ranked([truth[p.chunk.doc_id] for p in passages], q.story)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="rag bench reprints",
        description=__doc__,
        formatter_class=argparse.RawTextHelpFormatter,
    )
    p.add_argument("--piaf", type=Path, default=DEFAULT_PIAF, help="PIAF dev JSON")
    p.add_argument("--stories", type=int, default=None, help="articles used (default: all)")
    p.add_argument("--copies", type=int, default=3, help="reprints per story (k)")
    p.add_argument("--questions", type=int, default=None, help="questions asked (default: all)")
    p.add_argument(
        "--depth", type=int, nargs="+", default=[20, 40], help="passages collapsed into stories"
    )
    p.add_argument("--embedder", choices=("hashing", "sentence-transformers"), default="hashing")
    p.add_argument("--grid", action="store_true", help="grouping over shingles x thresholds")
    p.add_argument("--no-retrieval", action="store_true", help="the grouping table only")
    p.add_argument("--scale", type=int, default=0, help="time add/remove at this many documents")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--keep", type=Path, help="a folder to keep the collections in")
    args = p.parse_args(argv)
    if not args.piaf.exists():
        print(f"error: {args.piaf} not found (--piaf PATH)", file=sys.stderr)
        return 2
    corpus = make_corpus(args.piaf, args.stories, args.copies, args.seed)
    if args.questions:
        random.Random(args.seed).shuffle(corpus.questions)
        corpus.questions = corpus.questions[: args.questions]
    print(f"corpus: {corpus.stats}; questions asked: {len(corpus.questions)}")
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.keep or Path(tmp)
        print("\n## Grouping\n")
        print("\n".join(grouping_table(corpus, folder, args.grid, args.seed)))
        if args.scale:
            print("\n## Speed\n")
            print("\n".join(scale_table(args.piaf, folder, args.scale, args.seed)))
        if not args.no_retrieval:
            print(f"\n## Retrieval ({args.embedder} embedder)\n")
            print("\n".join(run_retrieval(corpus, folder, args.embedder, args.depth)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
