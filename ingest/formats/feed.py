"""RSS 2.0 / RSS 1.0 / Atom feeds -> entries (feedparser), and an entry -> an article: its full
content when the feed carries it, else the linked page, else the summary (said in a warning)."""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import feedparser

from ingest.fetch import FetchError
from ingest.formats.base import Extracted, FormatError, Precision
from ingest.formats.dates import DateReading, read_date
from ingest.formats.html import extract_html
from ingest.formats.markup import fragment_paragraphs

SUMMARY_ONLY = "only the summary was available"


@dataclass(frozen=True)
class FeedEntry:
    guid: str  # the entry's id (RSS guid, Atom id), else its link
    link: str
    title: str
    content_html: str  # the longest of content:encoded / Atom content, "" when absent
    summary_html: str  # RSS description / Atom summary
    published: datetime | None  # aware when the feed gives a zone (as it should)
    updated: datetime | None
    authors: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    published_precision: Precision = ""
    warnings: tuple[str, ...] = ()  # dates that could not be read
    outlet: str = ""  # RSS <source>: the outlet of an aggregator's item


@dataclass(frozen=True)
class Feed:
    title: str
    link: str  # the site the feed belongs to
    url: str  # the feed's own address: its rel="self" link, else the source when a URL
    entries: list[FeedEntry] = field(default_factory=list)
    language: str = ""  # "fr", "en", ... as the feed declares it
    warnings: tuple[str, ...] = ()  # what feedparser forgave (a feed read despite an error)


def _text(value: Any) -> str:
    return " ".join(str(value or "").split())


def _date(entry: Any, key: str, what: str) -> DateReading:
    """The raw string first (it keeps the zone the feed wrote); feedparser's parsed tuple,
    in UTC, when the string is one that only feedparser reads."""
    raw = entry.get(key)
    reading = read_date(raw, what)
    if reading.value is None and entry.get(f"{key}_parsed"):
        return read_date(entry.get(f"{key}_parsed"), what)
    return reading


def _entry(item: Any, index: int, source: str) -> FeedEntry | None:
    link = _text(item.get("link"))
    guid = _text(item.get("id")) or link
    title = _text(item.get("title"))
    contents = [c.get("value") or "" for c in item.get("content") or []]
    content = max(contents, key=len, default="")
    summary = item.get("summary") or ""
    if not (guid or title or content.strip() or summary.strip()):
        return None  # what a broken feed leaves of an item
    what = f"{source}: entry {index + 1} ({guid or title})"
    published = _date(item, "published", f"{what}: the date")
    updated = _date(item, "updated", f"{what}: the update date")
    if published.value is None and not item.get("published"):
        published = replace(updated, warning="")  # Atom feeds often give only <updated>
    authors = [_text(a.get("name")) for a in item.get("authors") or [] if a.get("name")]
    if not authors and item.get("author"):
        authors = [_text(item.get("author"))]
    categories = [_text(t.get("term")) for t in item.get("tags") or [] if t.get("term")]
    origin = item.get("source")
    return FeedEntry(
        guid=guid,
        link=link,
        title=title,
        content_html=content,
        summary_html=summary,
        published=published.value,
        updated=updated.value,
        authors=tuple(dict.fromkeys(authors)),
        categories=tuple(dict.fromkeys(categories)),
        published_precision=published.precision,
        warnings=tuple(w for w in (published.warning, updated.warning) if w),
        outlet=_text(origin.get("title")) if isinstance(origin, dict) else "",
    )


def parse_feed(raw: bytes, source: str) -> Feed:
    """Read a feed. `source` (its URL or file name) names it in errors and resolves its
    relative links. Malformed XML with no readable entry and a feed without entries are
    errors; feedparser's sanitiser removes scripts and the like from entry HTML."""
    headers = {}
    if source.startswith(("http://", "https://")):
        # with headers but no content type feedparser flags every feed "no Content-type
        # specified"; application/xml leaves the encoding to the XML declaration
        headers = {"content-location": source, "content-type": "application/xml"}
    # a stream, never bytes or str: feedparser opens a str that looks like a URL or a path
    parsed = feedparser.parse(io.BytesIO(raw), response_headers=headers, sanitize_html=True)
    entries = [
        e for i, item in enumerate(parsed.entries) if (e := _entry(item, i, source)) is not None
    ]
    problem = parsed.get("bozo_exception") if parsed.get("bozo") else None
    # feedparser puts an XML declaration line before a document that has none
    shift = 0 if raw.removeprefix(b"\xef\xbb\xbf").startswith(b"<?xml") else 1
    if not entries:
        if problem is not None:
            raise FormatError(f"{source}: not a readable feed: {_reason(problem, shift)}")
        if not parsed.get("version"):
            raise FormatError(f"{source}: not an RSS or Atom feed (no <rss>, <feed> or <rdf:RDF>)")
        raise FormatError(f"{source}: the feed has no entries")
    meta = parsed.feed
    self_link = next(
        (lk.get("href") for lk in meta.get("links", []) if lk.get("rel") == "self"), ""
    )
    url = self_link or (source if source.startswith(("http://", "https://")) else "")
    language = _text(meta.get("language")).replace("_", "-").split("-")[0].lower()
    return Feed(
        title=_text(meta.get("title")),
        link=_text(meta.get("link")),
        url=url,
        entries=entries,
        language=language if language.isalpha() else "",
        warnings=(f"{source}: read despite an error: {_reason(problem, shift)}",)
        if problem
        else (),
    )


def _reason(problem: BaseException, line_shift: int = 0) -> str:
    line = getattr(problem, "getLineNumber", lambda: None)()
    column = getattr(problem, "getColumnNumber", lambda: None)()
    where = f" (line {max(1, line - line_shift)}, column {column})" if line else ""
    return f"{problem.getMessage() if hasattr(problem, 'getMessage') else problem}{where}"


def _paragraphs_text(html: str) -> str:
    return "\n\n".join(fragment_paragraphs(html))


def entry_article(
    entry: FeedEntry, feed: Feed, fetch_page: Callable[[str], bytes | None] | None = None
) -> Extracted:
    """The article of a feed entry. Its body: the entry's full content when it carries one
    (content as long as the summary at least: Atom feeds repeat the content as summary), else
    the linked page read through `fetch_page` and `extract_html`, else the summary, with a
    warning. Title, date and authors: the entry's (structured data of the publisher), the
    page's where the entry has none. `fetch_page` returns the page's bytes, or None (or
    raises FetchError) when it cannot be had: the entry then falls back to its summary.
    Raises FormatError when there is no text at all."""
    name = f"{feed.url or feed.title or 'feed'}: entry {entry.guid or entry.title!r}"
    warnings = list(entry.warnings)
    content = _paragraphs_text(entry.content_html)
    summary = _paragraphs_text(entry.summary_html)
    page: Extracted | None = None
    if content and len(content) >= len(summary):
        text = content
    else:
        page = _page(entry, fetch_page, warnings)
        text = page.text if page else summary
        if not page and summary:
            warnings.append(f"{name}: {SUMMARY_ONLY}")
    if not text:
        raise FormatError(f"{name}: no text (no content, no summary, no readable page)")
    published, precision = entry.published, entry.published_precision
    if page is not None:
        if published is None:
            published, precision = page.published, page.published_precision
        else:  # the page's date problems do not matter: the entry's date stands
            warnings += [w for w in page.warnings if "date" not in w]
            page = replace(page, warnings=())
    return Extracted(
        title=entry.title or (page.title if page else ""),
        text=text,
        published=published,
        published_precision=precision,
        # an aggregator names each item's outlet (RSS <source>); else the feed is the outlet's
        outlet=entry.outlet or feed.title or (page.outlet if page else ""),
        authors=entry.authors or (page.authors if page else ()),
        url=entry.link or (page.url if page else ""),
        language=feed.language or (page.language if page else ""),
        feed=feed.url,
        guid=entry.guid,
        keywords=entry.categories or (page.keywords if page else ()),
        warnings=tuple(warnings) + (page.warnings if page else ()),
    )


def _page(
    entry: FeedEntry, fetch_page: Callable[[str], bytes | None] | None, warnings: list[str]
) -> Extracted | None:
    if not entry.link or fetch_page is None:
        return None
    try:
        raw = fetch_page(entry.link)
    except FetchError as err:
        warnings.append(str(err))
        return None
    if raw is None:
        warnings.append(f"{entry.link}: the page could not be fetched")
        return None
    try:
        return extract_html(raw, entry.link, entry.link)
    except FormatError as err:
        warnings.append(str(err))
        return None
