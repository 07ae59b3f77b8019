"""News articles (`ingest.formats.Extracted`: a page, a feed entry, an export object) as
Documents, and the ids they are stored under.

Stored text: `title + "\\n\\n" + body`, `body_start = len(title) + 2`, so that passages' offsets
point into the extracted article and the title is part of it, as in the seed format. Ids:
- an article fetched from a URL: `slug(host)-sha1(url)[:12]`;
- a feed entry: `slug(feed host)-sha1(guid)[:12]` (its guid, else its link: never its title,
  which edits change);
- an export object: from its URL, else its id field, else `stem-<position>`.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import datetime
from pathlib import PurePosixPath
from urllib.parse import urlsplit

from ingest.formats import Extracted
from ingest.identity import ReadError, content_hash, slug
from rag.language import detect_language
from rag.schema import Document

TITLE_FROM_TEXT = 120
MAX_KEYWORDS = 30  # categories and tags kept; some pages list dozens


def published_iso(value: datetime | None, precision: str) -> str:
    """ISO 8601 as the source gave it: the day alone when only the day is known, else the
    time to the second, with the zone when the source gave one."""
    if value is None:
        return ""
    if precision == "day":
        return value.date().isoformat()
    return value.isoformat(timespec="seconds")


def _digest(value: str) -> str:
    return hashlib.sha1(value.encode("utf-8", "surrogatepass")).hexdigest()[:12]


def host_of(url: str) -> str:
    host = (urlsplit(url).hostname or "") if url else ""
    return host.removeprefix("www.")


def url_id(url: str) -> str:
    """The id of an article read from `url`."""
    return f"{slug(host_of(url) or 'web', 60)}-{_digest(url)}"


def entry_id(feed_address: str, guid: str, fallback: str) -> str:
    """The id of a feed entry: the feed's host (`fallback`, a file's stem, without one) and its
    guid."""
    return f"{slug(host_of(feed_address) or fallback, 60)}-{_digest(guid)}"


def export_id(article: Extracted, stem: str, place: str) -> str:
    """An export object's id: its URL, else its id field, else the file's stem and the
    object's position (its line in JSON lines, its index in JSON)."""
    if article.url.startswith(("http://", "https://")):
        return url_id(article.url)
    if article.guid:
        return f"{slug(stem, 60)}-{_digest(article.guid)}"
    position = "".join(c for c in place.rsplit("[", 1)[-1].rsplit(":", 1)[-1] if c.isdigit())
    return f"{slug(stem, 100)}-{position or 0}"


def stem_of(name: str) -> str:
    """A file's stem, or for a URL the last part of its path (else its host)."""
    if name.startswith(("http://", "https://")):
        parts = urlsplit(name)
        return PurePosixPath(parts.path).stem or parts.hostname or "web"
    return PurePosixPath(name).stem or name


def news_document(article: Extracted, doc_id: str, source: str, where: str) -> Document:
    """The Document of an extracted article; ReadError (naming `where`) when its text cannot
    be stored."""
    body = article.text.replace("\r\n", "\n").replace("\r", "\n").strip()
    if not body:
        raise ReadError(f"{where}: no article text")
    title = " ".join(article.title.split())
    if not title:
        first = " ".join(body.split("\n", 1)[0].split())
        title = (
            first if len(first) <= TITLE_FROM_TEXT else first[:TITLE_FROM_TEXT].rsplit(" ", 1)[0]
        )
    text = f"{title}\n\n{body}\n"
    for value, what in ((text, "text"), (article.outlet, "outlet"), (article.url, "url")):
        if "\x00" in value:
            raise ReadError(f"{where}: the {what} contains NUL characters")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as err:
            bad = f"U+{ord(value[err.start]):04X}"
            raise ReadError(f"{where}: the {what} is not valid Unicode text ({bad})") from None
    authors = tuple(" ".join(a.split()) for a in article.authors if a.strip())
    document = Document(
        doc_id=doc_id,
        title=title,
        text=text,
        keywords=tuple(k.replace(",", " ") for k in article.keywords[:MAX_KEYWORDS]),
        source=source,
        language=article.language or detect_language(body[:4000], default="fr"),
        body_start=len(title) + 2,
        published=published_iso(article.published, article.published_precision),
        outlet=" ".join(article.outlet.split()),
        authors=tuple(a.replace(";", ",") for a in authors),  # ";" separates them when stored
        url=article.url.strip(),
        feed=article.feed.strip(),
    )
    return replace(document, content_hash=content_hash(title, text, **document.metadata()))
