"""How well `extract_html` reads real news pages: `python -m evaluation.bench.news_pages`.

For each page of the news-pages folder (its `expected.json` labels title, author, date, `with`
snippets of the article body and `without` snippets of boilerplate): the share of `with`
snippets found in the stored text and of `without` snippets absent from it, the title, the
authors, the date against the label, and the extraction time. Then totals, and the time to
extract all pages against the time to read the same bodies as .txt files.

Snippets, titles and texts are compared after the same normalisation on both sides
(`normalise`): Unicode NFC, typographic apostrophes and quotes as ASCII ones, every run of
whitespace (non-breaking spaces included) as one space; titles and authors also case-folded.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import unicodedata
from dataclasses import dataclass, fields, replace
from datetime import date
from pathlib import Path

from ingest.formats.base import Extracted, FormatError
from ingest.formats.html import HTML_OPTIONS, HtmlOptions, extract_html

DEFAULT_PAGES = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "news-pages"
_QUOTES = str.maketrans({"’": "'", "‘": "'", "‛": "'", "ʼ": "'", "“": '"', "”": '"', "„": '"'})
DATE_OUTCOMES = ("same day", "off by one day", "wrong", "missing", "no label")
TITLE_OUTCOMES = ("match", "partial", "wrong", "no label")


def normalise(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).translate(_QUOTES).split())


def _fold(text: str) -> str:
    return normalise(text).casefold().strip(" .")


@dataclass
class PageScore:
    name: str
    with_found: int
    with_total: int
    without_absent: int
    without_total: int
    title: str  # one of TITLE_OUTCOMES
    author: str  # "match", "wrong", "missing" or "no label"
    date: str  # one of DATE_OUTCOMES
    seconds: float
    error: str = ""


def title_outcome(found: str, label: str | None) -> str:
    if not label:
        return "no label"
    found, label = _fold(found), _fold(label)
    if found == label:
        return "match"
    return "partial" if found and (found in label or label in found) else "wrong"


def author_outcome(found: tuple[str, ...], label: str | list[str] | None) -> str:
    if not label:
        return "no label"
    if isinstance(label, list):
        label = "; ".join(label)
    if not found:
        return "missing"
    joined = _fold(" ".join(found))
    return (
        "match"
        if all(_fold(a) in _fold(label) for a in found) or _fold(label) in joined
        else "wrong"
    )


def date_outcome(found: Extracted | None, label: str | None) -> str:
    try:
        day = date.fromisoformat(label or "")
    except ValueError:  # absent, or a label that is not a day (a typo): not counted
        return "no label"
    if found is None or found.published is None:
        return "missing"
    days = abs((found.published.date() - day).days)
    return "same day" if days == 0 else "off by one day" if days == 1 else "wrong"


def score_page(
    path: Path, labels: dict, options: HtmlOptions
) -> tuple[PageScore, Extracted | None]:
    raw = path.read_bytes()
    url = labels.get("url") or ""
    url = url if url.startswith("http") else ""
    start = time.perf_counter()
    error = ""
    try:
        found: Extracted | None = extract_html(raw, path.name, url, options=options)
    except FormatError as err:
        found, error = None, str(err)
    seconds = time.perf_counter() - start
    text = normalise(found.text) if found else ""
    with_ = labels.get("with") or []
    without = labels.get("without") or []
    return PageScore(
        name=path.name,
        with_found=sum(normalise(s) in text for s in with_),
        with_total=len(with_),
        without_absent=sum(normalise(s) not in text for s in without),
        without_total=len(without),
        title=title_outcome(found.title if found else "", labels.get("title")),
        author=author_outcome(found.authors if found else (), labels.get("author")),
        date=date_outcome(found, labels.get("date")),
        seconds=seconds,
        error=error,
    ), found


@dataclass
class Totals:
    pages: int
    with_share: float
    without_share: float
    dates: dict[str, int]
    titles: dict[str, int]
    authors: dict[str, int]
    same_day_share: float  # among the pages whose date is labelled
    seconds: float


def totals(scores: list[PageScore]) -> Totals:
    dated = [s for s in scores if s.date != "no label"]
    return Totals(
        pages=len(scores),
        with_share=sum(s.with_found for s in scores) / max(1, sum(s.with_total for s in scores)),
        without_share=sum(s.without_absent for s in scores)
        / max(1, sum(s.without_total for s in scores)),
        dates={o: sum(s.date == o for s in scores) for o in DATE_OUTCOMES},
        titles={o: sum(s.title == o for s in scores) for o in TITLE_OUTCOMES},
        authors={
            o: sum(s.author == o for s in scores) for o in ("match", "wrong", "missing", "no label")
        },
        same_day_share=sum(s.date == "same day" for s in dated) / max(1, len(dated)),
        seconds=sum(s.seconds for s in scores),
    )


def load_labels(pages: Path) -> dict[str, dict]:
    labels_file = pages / "expected.json"
    if not labels_file.is_file():
        raise FileNotFoundError(f"{labels_file}: no such file (the folder's labels)")
    return json.loads(labels_file.read_text(encoding="utf-8"))


def run(
    pages: Path, options: HtmlOptions = HTML_OPTIONS
) -> tuple[list[PageScore], list[Extracted]]:
    labels_by_page = sorted(load_labels(pages).items())
    if labels_by_page:  # untimed: the first extraction loads dateparser's and lxml's data
        score_page(pages / labels_by_page[0][0], labels_by_page[0][1], options)
    scores, bodies = [], []
    for name, labels in labels_by_page:
        score, found = score_page(pages / name, labels, options)
        scores.append(score)
        if found:
            bodies.append(found)
    return scores, bodies


def txt_read_seconds(bodies: list[Extracted]) -> float:
    """The time to read the same bodies as .txt files through the existing reader."""
    from ingest.readers import read_article

    with tempfile.TemporaryDirectory() as folder:
        paths = []
        for i, found in enumerate(bodies):
            path = Path(folder) / f"page{i}.txt"
            path.write_text(f"{found.title}\n\n{found.text}\n", encoding="utf-8")
            paths.append(path)
        start = time.perf_counter()
        for path in paths:
            read_article(path)
        return time.perf_counter() - start


def markdown(scores: list[PageScore], total: Totals) -> str:
    lines = [
        "| page | with found | without absent | title | author | date | seconds |",
        "|---|---|---|---|---|---|---|",
    ]
    for s in scores:
        note = f" ({s.error})" if s.error else ""
        lines.append(
            f"| {s.name}{note} | {s.with_found}/{s.with_total} | "
            f"{s.without_absent}/{s.without_total} | {s.title} | {s.author} | {s.date} | "
            f"{s.seconds:.3f} |"
        )
    lines.append(
        f"| **total ({total.pages} pages)** | **{total.with_share:.3f}** | "
        f"**{total.without_share:.3f}** | "
        + ", ".join(f"{k} {v}" for k, v in total.titles.items() if v)
        + " | "
        + ", ".join(f"{k} {v}" for k, v in total.authors.items() if v)
        + " | "
        + ", ".join(f"{k} {v}" for k, v in total.dates.items() if v)
        + f" (same day {total.same_day_share:.3f} of labelled) | {total.seconds:.2f} |"
    )
    return "\n".join(lines)


def _options(pairs: list[str]) -> HtmlOptions:
    names = {f.name for f in fields(HtmlOptions)}
    changes: dict[str, bool] = {}
    for pair in pairs:
        key, _, value = pair.partition("=")
        if key not in names or value.lower() not in ("true", "false"):
            raise SystemExit(f"--set {pair!r}: use NAME=true|false with NAME in {sorted(names)}")
        changes[key] = value.lower() == "true"
    return replace(HTML_OPTIONS, **changes)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m evaluation.bench.news_pages", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--pages", type=Path, default=DEFAULT_PAGES, help="folder with expected.json"
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="OPTION=true|false",
        help="change one HtmlOptions field, e.g. --set favor_precision=true",
    )
    args = parser.parse_args(argv)
    try:
        options = _options(args.set)
        scores, bodies = run(args.pages, options)
    except FileNotFoundError as err:
        print(err, file=sys.stderr)
        return 2
    total = totals(scores)
    print(f"options: {options}\n")
    print(markdown(scores, total))
    txt = txt_read_seconds(bodies)
    print(
        f"\nextracting {len(scores)} pages: {total.seconds:.2f} s "
        f"({total.seconds / max(1, len(scores)) * 1000:.0f} ms a page); reading the same "
        f"{len(bodies)} bodies as .txt: {txt:.3f} s "
        f"({txt / max(1, len(bodies)) * 1000:.1f} ms a file)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
