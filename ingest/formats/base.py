"""What every news reader returns (`Extracted`), its error (`FormatError`), and `sniff`, which
tells the format of an input from its content type, its name and its first bytes."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import PurePosixPath
from typing import Literal

Kind = Literal["html", "feed", "json", "jsonl", "text", "markdown"]
Precision = Literal["day", "minute", "second", ""]


@dataclass(frozen=True)
class Extracted:
    """One article read from a page, a feed entry or an export, with its metadata."""

    title: str
    text: str  # the body as it will be stored: paragraphs separated by "\n\n", no boilerplate
    # aware when the source gives a zone; a date without time is 00:00, naive, precision "day"
    published: datetime | None
    published_precision: Precision = ""
    outlet: str = ""  # site name / source / publisher
    authors: tuple[str, ...] = ()
    url: str = ""  # canonical or original URL
    language: str = ""  # "fr", "en", ... when the source says it; "" = detect later
    feed: str = ""  # the feed URL a feed entry came from
    guid: str = ""  # feed entries: guid, else link; exports: the object's id field
    keywords: tuple[str, ...] = ()  # categories / tags
    warnings: tuple[str, ...] = ()  # what was read with a loss, e.g. an unreadable date


class FormatError(ValueError):
    """Input that cannot be read; the message names the file or URL (with the line or field
    when known) and what is wrong."""


_HTML_TYPES = {"text/html", "application/xhtml+xml"}
_FEED_TYPES = {"application/rss+xml", "application/atom+xml", "application/rdf+xml"}
_XML_TYPES = {"text/xml", "application/xml"}
_JSON_TYPES = {"application/json", "text/json"}
_JSONL_TYPES = {"application/x-ndjson", "application/jsonl", "application/x-jsonlines"}
_TEXT_TYPES = {"text/plain": "text", "text/markdown": "markdown", "text/x-markdown": "markdown"}
_EXTENSIONS: dict[str, Kind] = {
    ".html": "html",
    ".htm": "html",
    ".xhtml": "html",
    ".xml": "feed",
    ".rss": "feed",
    ".atom": "feed",
    ".json": "json",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".md": "markdown",
    ".markdown": "markdown",
    ".txt": "text",
}
_FEED_ROOTS = ("<rss", "<feed", "<rdf:rdf")
_HTML_ROOTS = ("<!doctype html", "<html")


def _head(raw: bytes) -> str:
    """The start of the input, lower-cased, without BOM, leading blanks, XML declaration,
    comments and doctype other than HTML's: where the root element shows."""
    text = raw[:4096].decode("utf-8", "replace").lstrip("\ufeff \t\r\n").lower()
    while text.startswith(("<?", "<!--")):
        end = text.find("?>" if text.startswith("<?") else "-->")
        if end < 0:
            break
        text = text[end + (2 if text.startswith("<?") else 3) :].lstrip()
    return text


def _markup_kind(head: str) -> Kind | None:
    if head.startswith(_FEED_ROOTS):
        return "feed"
    if head.startswith(_HTML_ROOTS):
        return "html"
    return None


def _json_kind(raw: bytes, default: Kind) -> Kind:
    """json when the whole input parses, jsonl when its first non-blank line does alone."""
    try:
        json.loads(raw)
        return "json"
    except ValueError:
        pass
    first = next((line for line in raw.splitlines() if line.strip()), b"")
    try:
        json.loads(first)
        return "jsonl"
    except ValueError:
        return default


def sniff(name: str, content_type: str, raw: bytes) -> Kind:
    """The format of an input. The root element decides first when it is unambiguous (a body
    starting with <rss>, <feed>, <rdf:RDF> is a feed, one starting with <html> or an HTML
    doctype is a page, whatever the server or the name claim); then a specific content type;
    then the file extension; then the content (JSON, JSON lines); else plain text."""
    head = _head(raw)
    kind = _markup_kind(head)
    if kind:
        return kind
    ctype = content_type.split(";")[0].strip().lower()
    suffix = PurePosixPath(name.split("?")[0]).suffix.lower()
    if ctype in _HTML_TYPES:
        return "html"
    if ctype in _FEED_TYPES:
        return "feed"
    if ctype in _JSONL_TYPES:
        return "jsonl"
    if ctype in _JSON_TYPES or ctype.endswith("+json"):
        return _json_kind(raw, "jsonl" if suffix in (".jsonl", ".ndjson") else "json")
    if ctype in _XML_TYPES:
        return "html" if "<html" in head[:200] else "feed"
    by_name = _EXTENSIONS.get(suffix)
    if by_name in ("json", "jsonl"):
        return _json_kind(raw, by_name)
    if by_name:
        return by_name
    if ctype in _TEXT_TYPES:
        return _TEXT_TYPES[ctype]  # type: ignore[return-value]
    if head.startswith(("{", "[")):
        return _json_kind(raw, "text")
    if head.startswith("<") and ("<body" in head or "<p>" in head or "<div" in head):
        return "html"
    return "text"
