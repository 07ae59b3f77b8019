"""Rule `sources-differ` (rag/verify/disagreement.py): disagreements found, false alarms.

1. Cases of our own from real articles (the seed and the news-pages HTML): each sentence that
   holds a number, a month or a name (at most `--per-article` an article) is the claim, citing
   its paragraph; a second document is the same paragraph with that one value changed (a
   number +1 or x1.5, the next month, another name). The rule must fire, naming both values.
   Agreeing pairs must not: the paragraph reprinted as is, and reworded (a word other than
   the value changed, the sentence's end cut).
2. False alarms on the dev sets: for every PIAF and XQuAD dev question, the passages retrieved
   together (top 5; hybrid retrieval over the dev paragraphs, hashing embedder unless
   `--embedder sentence-transformers`; the gold paragraph put in when missed), and the gold
   answer's sentence as the claim, citing the gold paragraph. A fire is a false alarm: these
   paragraphs do not disagree. Counted with the paragraphs of one article as one document
   (what the service will know) and, harder, each paragraph as its own document.

    rag bench sources_differ
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT.parent / "shared" / "data"
SEED = ROOT / "seeds" / "000_7304b3bcc082d340.txt"
OTHER_NAMES = ("Pierre Durand", "Maria Lopez", "Jean Martin", "Sarah Cohen")
_MONTHS_FR = (
    "janvier février mars avril mai juin juillet août septembre octobre novembre décembre".split()
)
_MONTHS_EN = (
    "January February March April May June July August September October November December".split()
)


def articles(pages: Path) -> list[tuple[str, str, list[str]]]:
    """(name, language, paragraphs) of the seed and the news pages."""
    out = []
    seed = SEED.read_text(encoding="utf-8").split("\n\n")
    out.append(("seed", "fr", [p for p in seed[1:] if len(p.split()) > 12]))
    if pages.is_dir():
        from ingest.formats import extract_html
        from rag.language import detect_language

        for page in sorted(pages.glob("*.html")):
            extracted = extract_html(page.read_bytes(), str(page))
            paragraphs = [p for p in extracted.text.split("\n\n") if len(p.split()) > 12]
            if paragraphs:
                language = detect_language(" ".join(paragraphs)[:2000], default="fr")
                out.append((page.stem, language, paragraphs))
    return out


def change_value(sentence: str, rng: random.Random) -> tuple[str, str] | None:
    """The sentence with one value changed, and which kind; None when it holds none."""
    from rag.verify.disagreement import value_tokens

    tokens = value_tokens(sentence)
    values = [
        t
        for t in tokens
        if (t.kind == "number" and t.text[0].isdigit()) or t.kind in ("month", "name")
    ]
    if not values:
        return None
    t = rng.choice(values)
    if t.kind == "number":
        try:
            n = float(t.key)
        except ValueError:  # "1.2.3": a version, not a number
            return None
        new = n + 1 if n < 10 or rng.random() < 0.5 else round(n * 1.5)
        text = str(int(new)) if float(new).is_integer() else f"{new:.1f}"
    elif t.kind == "month":
        from rag.text import fold

        months = _MONTHS_FR if t.text.islower() else _MONTHS_EN
        folded = [fold(m) for m in months]
        text = months[(folded.index(t.key) + 1) % 12 if t.key in folded else 0]
    else:
        text = rng.choice([n for n in OTHER_NAMES if t.text not in n]).split()[-1]
    return sentence[: t.start] + text + sentence[t.end :], t.kind


def reword(sentence: str) -> str:
    """The same statement with other words: a content word replaced, the end cut."""
    words = sentence.split()
    for i, w in enumerate(words):
        if i > 2 and w.isalpha() and w.islower() and len(w) > 5:
            words[i] = "notamment" if i % 2 else "également"
            break
    return " ".join(words[: max(8, int(len(words) * 0.85))])


def _decide(case: tuple[str, str], draft: str, paragraph: str, other: str) -> list:
    """The rule on a claim citing `paragraph`, beside `other` from another outlet."""
    from rag.verify.claims import parse
    from rag.verify.config import VerifyConfig
    from rag.verify.disagreement import sources_differ
    from rag.verify.rules import Evidence

    name, language = case
    claims = tuple(parse(draft))
    ev = Evidence(
        draft=draft,
        claims=claims,
        sources=(f"{name}\n{paragraph}", f"{name} (reprint)\n{other}"),
        question="",
        language=language,
        used=language,
        same_language=True,
        config=VerifyConfig(),
        source_docs=("original", "other outlet"),
    )
    return sources_differ(claims, ev)


def cases_table(pages: Path, per_article: int, seed: int) -> list[str]:
    from rag.text import split_sentences

    rng = random.Random(seed)
    counts: Counter[str] = Counter()
    examples: list[str] = []
    for name, language, paragraphs in articles(pages):
        picked = 0
        for paragraph in paragraphs:
            for sentence in split_sentences(paragraph):
                if picked >= per_article or len(sentence.split()) < 8:
                    continue
                changed = change_value(sentence, rng)
                if changed is None:
                    continue
                picked += 1
                new_sentence, kind = changed
                draft = f"{' '.join(sentence.split()).rstrip('.')} [1]."

                def fires(other: str, draft=draft, paragraph=paragraph, case=(name, language)):
                    decisions = _decide(case, draft, paragraph, other)
                    if decisions and len(examples) < 12 and other != paragraph:
                        examples.append(f"- {case[0]}: {decisions[0].reason}")
                    return bool(decisions)

                counts[f"{kind} changed: cases"] += 1
                counts[f"{kind} changed: found"] += fires(paragraph.replace(sentence, new_sentence))
                counts["agreeing: cases"] += 2
                counts["agreeing: fired"] += fires(paragraph)
                counts["agreeing: fired"] += fires(paragraph.replace(sentence, reword(sentence)))
    lines = ["| cases | count | rule fired |", "|---|---|---|"]
    for kind in ("number", "month", "name"):
        n, found = counts[f"{kind} changed: cases"], counts[f"{kind} changed: found"]
        if n:
            lines.append(f"| one {kind} changed | {n} | {found} ({found / n:.2f}) |")
    n, fired = counts["agreeing: cases"], counts["agreeing: fired"]
    lines.append(f"| agreeing (reprinted, reworded) | {n} | {fired} ({fired / max(n, 1):.2f}) |")
    return [*lines, "", "Reasons given:", *examples]


def dev_table(
    embedder: str, folder: Path, limit: int | None, settings_grid: list[tuple[float, int]]
) -> list[str]:
    """False alarms (and, as a control, disagreements found when the gold paragraph is
    reprinted with the claim's value changed) for each (SAME_STATEMENT, MIN_SHARED)."""
    from rag.verify import disagreement

    asked = {name: _retrieved(name, language, embedder, folder, limit) for name, language in _DEV}
    lines = [
        "| dev set | same statement from | shared words from | answers | fired, one document "
        "an article | fired, one document a paragraph | control: one value changed, found |",
        "|---|---|---|---|---|---|---|",
    ]
    examples: list[str] = []
    for same, shared in settings_grid:
        disagreement.SAME_STATEMENT, disagreement.MIN_SHARED = same, shared
        for name, cases in asked.items():
            fired = Counter()
            control = changed = 0
            for case in cases:
                for kind, docs in (("article", case.articles), ("paragraph", case.paragraphs)):
                    decisions = case.run(docs)
                    fired[kind] += bool(decisions)
                    if decisions and len(examples) < 10:
                        examples.append(
                            f"- {name} ({kind}): {case.question} -> {decisions[0].reason}"
                        )
                if case.changed is not None:
                    changed += 1
                    control += bool(case.run((*case.articles, "reprint"), case.changed))
            n = len(cases)
            lines.append(
                f"| {name.split('/')[0]} | {same} | {shared} | {n} "
                f"| {fired['article']} ({fired['article'] / n:.3f}) "
                f"| {fired['paragraph']} ({fired['paragraph'] / n:.3f}) "
                f"| {control} of {changed} ({control / max(changed, 1):.2f}) |"
            )
    return [*lines, "", "Fired on:", *examples]


_DEV = (("piaf/piaf-v1.1-dev.json", "fr"), ("xquad-en/xquad-en-dev.json", "en"))


@dataclass
class _Case:
    question: str
    language: str
    draft: str
    sources: tuple[str, ...]
    articles: tuple[str, ...]  # the document of each passage: its article
    paragraphs: tuple[str, ...]  # ... or its paragraph
    changed: str | None  # the gold paragraph with the claim's value changed, as a source

    def run(self, docs: tuple[str, ...], extra: str | None = None) -> list:
        from rag.verify.claims import parse
        from rag.verify.config import VerifyConfig
        from rag.verify.disagreement import sources_differ
        from rag.verify.rules import Evidence

        claims = tuple(parse(self.draft))
        ev = Evidence(
            draft=self.draft, claims=claims,
            sources=self.sources + ((extra,) if extra else ()),
            question=self.question, language=self.language, used=self.language,
            same_language=True, config=VerifyConfig(), source_docs=docs,
        )  # fmt: skip
        return sources_differ(claims, ev)


def _retrieved(
    name: str, language: str, embedder: str, folder: Path, limit: int | None
) -> list[_Case]:
    """Each dev question's top 5 paragraphs (the gold one put in), and its claim."""
    from evaluation.datasets import clean_title, paragraph_id
    from ingest.readers import content_hash
    from ingest.service import IngestionService
    from rag.components import make_engines
    from rag.retrieval import HybridRetriever
    from rag.schema import Document
    from rag.settings import Settings
    from rag.text import sentence_spans

    data = json.loads((DATA / name).read_text(encoding="utf-8"))["data"]
    paragraphs: dict[str, tuple[str, str]] = {}  # id: (article, text)
    asked = []
    for article in data:
        title = clean_title(article["title"])
        for p in article["paragraphs"]:
            pid = paragraph_id(p["context"])
            paragraphs[pid] = (title, p["context"])
            for qa in p["qas"]:
                if qa.get("answers"):
                    asked.append((qa["question"], pid, qa["answers"][0]["answer_start"]))
    if limit:
        asked = random.Random(1).sample(asked, min(limit, len(asked)))
    settings = Settings(data_dir=folder / name.split("/")[0], embedder=embedder, llm="scripted")
    engines = make_engines(settings)
    ingestion = IngestionService(settings, engines)
    ingestion.prepare(progress=False)
    documents = [
        Document(pid, t, text, source=name, language=language, content_hash=content_hash(t, text))
        for pid, (t, text) in paragraphs.items()
    ]
    ingestion.ingest_documents(documents, progress=False)
    retriever = HybridRetriever(engines.store, engines.embedder, engines.index)
    rng = random.Random(1)
    cases = []
    for question, gold, start in asked:
        found = retriever.search(question, 8, language).passages
        ids = list(dict.fromkeys(p.chunk.doc_id for p in found))[:5]
        if gold not in ids:
            ids = [gold, *ids[:4]]
        title, text = paragraphs[gold]
        claim = next((text[a:b] for a, b in sentence_spans(text) if a <= start < b), "")
        claim = " ".join(claim.split())
        changed = change_value(claim, rng)
        cases.append(
            _Case(
                question,
                language,
                f"{claim.rstrip('.')} [{ids.index(gold) + 1}].",
                tuple(f"{paragraphs[i][0]}\n{paragraphs[i][1]}" for i in ids),
                tuple(paragraphs[i][0] for i in ids),
                tuple(ids),
                f"{title}\n{' '.join(text.split()).replace(claim, changed[0])}"
                if changed
                else None,
            )
        )
    return cases


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="rag bench sources_differ",
        description=__doc__,
        formatter_class=argparse.RawTextHelpFormatter,
    )
    p.add_argument("--pages", type=Path, default=DATA / "news-pages", help="news pages folder")
    p.add_argument("--per-article", type=int, default=8, help="sentences changed per article")
    p.add_argument("--embedder", choices=("hashing", "sentence-transformers"), default="hashing")
    p.add_argument("--limit", type=int, default=None, help="dev questions per set (default all)")
    p.add_argument("--no-dev", action="store_true", help="the built cases only")
    p.add_argument("--sweep", action="store_true", help="dev sets over several thresholds")
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args(argv)
    print("## Disagreements built from real articles\n")
    print("\n".join(cases_table(args.pages, args.per_article, args.seed)))
    if not args.no_dev:
        if not (DATA / "piaf").is_dir():
            print(f"error: {DATA / 'piaf'} not found", file=sys.stderr)
            return 2
        print(f"\n## False alarms on the dev sets ({args.embedder} embedder)\n")
        with tempfile.TemporaryDirectory() as tmp:
            grid = [(0.3, 2), (0.4, 3), (0.5, 3), (0.6, 4), (0.7, 4)] if args.sweep else []
            from rag.verify import disagreement

            grid = grid or [(disagreement.SAME_STATEMENT, disagreement.MIN_SHARED)]
            print("\n".join(dev_table(args.embedder, Path(tmp), args.limit, grid)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
