"""The news evaluation (`rag eval evaluation/data/news.json`): questions about time, outlets,
the collection, reprints and disagreeing sources, asked of the real news pages, the seed and
articles built from them at run time (evaluation/data/news.json says how).

Rows:
- time: the window read from the question is the expected one (or the latest news came
  first), the answer cites an expected article and nothing outside the window, and names the
  date of an article it cites;
- empty window: the answer says nothing published then speaks of it, naming the window;
- collection: the articles listed are the expected ones (precision, recall, exact);
- reprints: the five passages retrieved hold five distinct stories, the answer cites the
  story once and lists its other outlets (`also_in`), and holds the facts;
- disagreement: the answer says the sources differ, giving both values, citing both sides;
- false alarms: answers to the other questions where sources-differ fired;
- facts: answers holding every fact and citing an expected article.
"""

from __future__ import annotations

import json
import re
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from evaluation.datasets import DatasetError
from evaluation.metrics import fold, missing_facts

ROOT = Path(__file__).resolve().parents[1]
KINDS = ("time", "empty-window", "collection", "reprint", "differ", "fact")
DIFFER = "sources-differ"


def is_news_set(path: Path) -> bool:
    if path.suffix != ".json":
        return False
    try:
        head = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(head, dict) and "built" in head and "questions" in head


@dataclass
class Article:
    key: str  # a page's file stem, "seed", or a built article's id
    title: str
    text: str
    outlet: str = ""
    published: str = ""
    url: str = ""


@dataclass
class NewsSet:
    questions: list[dict]
    articles: dict[str, Article]  # every article of the corpus, by key
    built: list[Article] = field(default_factory=list)  # those made here, to ingest
    sources: list[Path] = field(default_factory=list)  # page and seed files, ingested as is


def load_news_set(path: Path) -> NewsSet:
    """The questions, and the corpus: pages and seed read as ingestion reads them, and the
    built articles made from them."""
    from ingest.readers import read_file

    spec = json.loads(path.read_text(encoding="utf-8"))
    pages = (ROOT / spec["pages"]).resolve()
    if not pages.is_dir():
        raise DatasetError(f"{path}: the news pages are not at {pages} (../shared/data)")
    articles: dict[str, Article] = {}
    sources = [*sorted(pages.glob("*.html")), ROOT / spec["seed"]]
    for file in sources:
        (doc,) = read_file(file).documents
        key = "seed" if file.suffix == ".txt" else file.stem
        articles[key] = Article(key, doc.title, doc.text, doc.outlet, doc.published, doc.url)
    built = [_build(b, articles, path) for b in spec["built"]]
    articles.update((a.key, a) for a in built)
    for q in spec["questions"]:
        if q.get("kind") not in KINDS:
            raise DatasetError(f"{path}: question {q.get('id')!r}: kind must be one of {KINDS}")
        for key in [*q.get("cites", []), *q.get("articles", []), *q.get("story", [])]:
            if key not in articles:
                raise DatasetError(f"{path}: question {q['id']!r} names no article {key!r}")
    return NewsSet(spec["questions"], articles, built, sources)


def _build(spec: dict, articles: dict[str, Article], path: Path) -> Article:
    """A reprint (paragraphs of another article, edited) or a brief (sentences of our own
    around one sentence of another article, one value changed)."""
    where = f"{path}: built article {spec.get('id')!r}"
    if "from" in spec:
        source = articles[spec["from"]]
        paragraphs = source.text.split("\n\n")
        start, end = spec["paragraphs"]
        replaced = {int(k): v for k, v in spec.get("replace_paragraph", {}).items()}
        body = [replaced.get(i, paragraphs[i]) for i in range(start, end)]
        if spec.get("append"):
            body.append(spec["append"])
    else:
        body = []
        for part in spec["text"]:
            if isinstance(part, str):
                body.append(part)
                continue
            paragraph = next(
                (p for p in articles[part["from"]].text.split("\n\n") if part["with"] in p), None
            )
            if paragraph is None:
                raise DatasetError(f"{where}: no paragraph of {part['from']} has {part['with']!r}")
            sentence = next(s for s in re.split(r"(?<=[.!?])\s+", paragraph) if part["with"] in s)
            old, new = part["replace"]
            body.append(sentence.replace(old, new))
    return Article(
        spec["id"], spec["title"], "\n\n".join(body), spec["outlet"], spec["published"], spec["url"]
    )


def write_export(articles: list[Article], folder: Path) -> Path:
    """The built articles as a JSONL export, read by ingestion like any other."""
    path = folder / "built.jsonl"
    rows = [
        {"title": a.title, "content": a.text, "date": a.published, "source": a.outlet, "url": a.url}
        for a in articles
    ]
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    return path


# --- scoring ---------------------------------------------------------------------------------
_MONTHS = {
    "fr": "janvier février mars avril mai juin juillet août septembre octobre novembre décembre",
    "en": "January February March April May June July August September October November December",
}


def names_a_date(answer: str, published: list[str], language: str) -> bool:
    """The answer writes the day of one of these articles (« 9 décembre 2019 », "November 8",
    "2023-11-08") or at least its month and year."""
    text = fold(answer)
    for iso in published:
        m = re.match(r"(\d{4})-(\d{2})-(\d{2})", iso or "")
        if not m:
            continue
        year, month, day = int(m[1]), int(m[2]), int(m[3])
        names = {fold(_MONTHS[lang].split()[month - 1]) for lang in ("fr", "en")}
        if m[0] in text or any(
            re.search(rf"\b{day}(er)? {n}\b|\b{n} {day}\b|\b{n},? {year}\b", text) for n in names
        ):
            return True
    return False


@dataclass
class Asked:
    question: dict
    body: dict  # the API's answer
    keys: list[str]  # the article of each citation, by key
    retrieved: list[str] = field(default_factory=list)  # top-5 articles (reprint questions)
    stories: list[str] = field(default_factory=list)  # their stories
    seconds: float = 0.0


def score(asked: Asked, articles: dict[str, Article]) -> dict[str, Any]:
    """What this answer shows, by the question's kind."""
    q, body, keys = asked.question, asked.body, asked.keys
    kind = q["kind"]
    rules = [v["rule"] for v in body.get("verification", [])]
    out: dict[str, Any] = {"differ_fired": DIFFER in rules}
    if kind == "time":
        window = body.get("window") or {}
        if q.get("recency"):
            out["window_right"] = bool(window.get("recency")) and bool(window.get("applied"))
        else:
            want = q["window"]
            out["window_right"] = [window.get("after"), window.get("before")] == want and bool(
                window.get("applied")
            )
        if q.get("outlets"):
            out["window_right"] = out["window_right"] and body.get("outlets") == q["outlets"]
        inside = [k for k in keys if _in_window(articles[k].published, q.get("window"))]
        out["cited_right"] = bool(set(keys) & set(q["cites"])) and inside == keys
        out["date_named"] = names_a_date(
            body["answer"], [articles[k].published for k in keys], q["language"]
        )
    elif kind == "empty-window":
        text = fold(body["answer"])
        # no article in the window, or none of them about the question: the same answer
        out["said_empty"] = bool(set(rules) & {"nothing-in-window", "relevance"}) and all(
            fold(n) in text for n in q["names"]
        )
    elif kind == "collection":
        listed, want = set(keys), set(q["articles"])
        allowed = want | set(q.get("allowed", []))
        out["precision"] = len(listed & allowed) / len(listed) if listed else float(not want)
        out["recall"] = len(listed & want) / len(want) if want else float(not listed)
        out["exact"] = listed - set(q.get("allowed", [])) == want
    elif kind == "reprint":
        story = set(q["story"])
        out["distinct_stories"] = len(set(asked.stories)) == len(asked.stories)
        cited = [c for c, k in zip(body["citations"], keys, strict=True) if k in story]
        carried = {c["outlet"] for c in cited} | {
            o["outlet"] for c in cited for o in c.get("also_in", [])
        }
        outlets = {articles[k].outlet for k in story if articles[k].outlet}
        out["story_cited_once"] = len({k for k in keys if k in story}) == 1
        out["also_in_complete"] = bool(cited) and outlets <= carried
        out["facts_held"] = not missing_facts(body["answer"], q["facts"], body["abstained"])
    elif kind == "differ":
        text = fold(body["answer"])
        both = set(q["cites"]) <= set(keys)
        values = all(fold(v) in text for v in q["values"])
        out["caught"] = DIFFER in rules and both and values
    elif kind == "fact":
        out["facts_held"] = not missing_facts(body["answer"], q["facts"], body["abstained"])
        out["cites_gold"] = bool(set(keys) & set(q["cites"]))
    return out


def _in_window(published: str, window: list[str] | None) -> bool:
    if not window:
        return True
    day = (published or "")[:10]
    after, before = window
    return bool(day) and (after is None or after <= day) and (before is None or day <= before)


def table(results: list[dict]) -> list[dict[str, Any]]:
    """One row per measure: how many questions, and the share that showed it."""

    def share(kind: str, key: str, where: Callable[[dict], bool] = lambda r: True) -> dict:
        rows = [r for r in results if r["kind"] == kind and where(r)]
        values = [float(r["score"][key]) for r in rows]
        mean = sum(values) / len(values) if values else None
        return {"n": len(values), "value": mean}

    rows = [
        ("time questions: window read right", share("time", "window_right")),
        ("time questions: right article cited, none outside the window",
         share("time", "cited_right")),
        ("time questions: answer names the date of a cited article", share("time", "date_named")),
        ("nothing in the window: said so, naming it", share("empty-window", "said_empty")),
        ("collection questions: listed exactly the right articles", share("collection", "exact")),
        ("collection questions: precision of the list", share("collection", "precision")),
        ("collection questions: recall of the list", share("collection", "recall")),
        ("reprints: top 5 holds 5 distinct stories", share("reprint", "distinct_stories")),
        ("reprints: the story cited from one article", share("reprint", "story_cited_once")),
        ("reprints: its other outlets listed (also_in)", share("reprint", "also_in_complete")),
        ("reprints: facts held", share("reprint", "facts_held")),
        ("disagreement caught (both values, both sides cited)", share("differ", "caught")),
        ("facts held (single-article questions)", share("fact", "facts_held")),
        ("cites an expected article (single-article questions)", share("fact", "cites_gold")),
    ]  # fmt: skip
    # the answers whose sources agree: a time window may also hold a disagreeing brief
    answered = [
        r for r in results if r["kind"] in ("time", "reprint", "fact") and not r.get("differs")
    ]
    alarms = sum(r["score"]["differ_fired"] for r in answered)
    false_alarms = {"n": len(answered), "value": alarms / len(answered) if answered else None}
    rows.append(("false alarms: sources-differ on agreeing sources", false_alarms))
    return [{"row": name, **value} for name, value in rows]


# --- running ---------------------------------------------------------------------------------
def run_news(path: Path, out: Path | None, progress: bool = True, settings=None) -> list[dict]:
    """Ingest the corpus into a fresh collection, ask every question through the API, score."""
    from fastapi.testclient import TestClient

    from api.app import create_app
    from ingest.service import make_ingestor
    from rag.components import make_service
    from rag.settings import Settings

    news = load_news_set(path)
    with tempfile.TemporaryDirectory(prefix="news-eval-") as tmp:
        settings = (settings or Settings()).changed(data_dir=Path(tmp) / "data")
        service = make_service(settings)
        export = write_export(news.built, Path(tmp))
        report = make_ingestor(settings, service.engines).ingest_paths(
            [*news.sources, export], progress=progress
        )
        if report.errors:
            raise DatasetError(f"{path}: ingestion failed: {report.errors}")
        by_title = {d.title: d.doc_id for d in service.engines.store.documents()}
        key_of = {by_title[a.title]: k for k, a in news.articles.items() if a.title in by_title}
        missing = [k for k, a in news.articles.items() if a.title not in by_title]
        if missing:
            raise DatasetError(f"{path}: articles not ingested: {missing}")
        results = []
        with TestClient(create_app(settings, service)) as client:
            for i, q in enumerate(news.questions, 1):
                asked = _ask(client, service, q, key_of)
                result = {
                    "id": q["id"],
                    "kind": q["kind"],
                    "differs": bool(q.get("differs")),
                    "question": q["question"],
                    "answer": asked.body["answer"],
                    "cited": asked.keys,
                    "window": asked.body.get("window"),
                    "verification": asked.body.get("verification"),
                    "retrieved": asked.retrieved,
                    "seconds": round(asked.seconds, 1),
                    "score": score(asked, news.articles),
                }
                results.append(result)
                if progress:
                    print(f"[{i}/{len(news.questions)}] {q['id']}: {result['score']}",
                          file=sys.stderr)  # fmt: skip
    rows = table(results)
    if out:
        out.mkdir(parents=True, exist_ok=True)
        (out / "answers.jsonl").write_text(
            "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in results)
        )
        (out / "report.json").write_text(json.dumps({"rows": rows}, indent=2) + "\n")
        (out / "report.md").write_text(markdown(rows) + "\n")
    return rows


def _ask(client, service, q: dict, key_of: dict[str, str]) -> Asked:
    body: dict[str, Any] = {"question": q["question"]}
    if q.get("now"):
        body["now"] = f"{date.fromisoformat(q['now']).isoformat()}T12:00:00+00:00"
    t0 = time.perf_counter()
    answer = client.post("/v1/ask", json=body)
    seconds = time.perf_counter() - t0
    if answer.status_code != 200:
        raise DatasetError(f"question {q['id']!r}: HTTP {answer.status_code} {answer.text}")
    got = answer.json()
    asked = Asked(q, got, [key_of.get(c["doc_id"], c["doc_id"]) for c in got["citations"]])
    asked.seconds = seconds
    if q["kind"] == "reprint":
        passages = service.retrieve(q["question"], 5)
        docs = [p.chunk.doc_id for p in passages]
        stories = service.engines.stories.stories(list(dict.fromkeys(docs)))
        # distinct stories among distinct articles: one article's passages are not reprints
        by_doc = {d: stories.get(d, d) for d in dict.fromkeys(docs)}
        asked.retrieved = [key_of.get(d, d) for d in by_doc]
        asked.stories = list(by_doc.values())
    return asked


def markdown(rows: list[dict]) -> str:
    lines = ["| row | questions | share |", "|---|---:|---:|"]
    for r in rows:
        value = "–" if r["value"] is None else f"{r['value']:.2f}"
        lines.append(f"| {r['row']} | {r['n']} | {value} |")
    return "\n".join(lines)
