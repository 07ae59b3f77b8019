"""Read articles into Documents: one interface (`read_source`) for every format a file, an
upload or a URL may hold, dispatched on `ingest.formats.sniff`:

- the seed format (line 1 title, line 2 comma-separated keywords, then paragraphs), Markdown
  and plain text, read here; offsets refer to the file's decoded text;
- HTML article pages, RSS / Atom feeds (one article per entry) and JSON / JSON-lines exports
  (one article per object), read by `ingest.formats` and stored as `title\n\nbody` with their
  metadata (ingest.news).

A feed or an export gives several documents: a bad item is reported (naming the file or URL
and the line, index or entry) and the good ones are kept; nothing is ever half-read.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath

from ingest.formats import (
    Feed,
    FeedEntry,
    FormatError,
    entry_article,
    extract_html,
    parse_feed,
    read_export,
    sniff,
)
from ingest.formats.exports import FIELDS as EXPORT_FIELDS
from ingest.identity import DOC_ID, ReadError, check_doc_id, content_hash, slug
from ingest.news import entry_id, export_id, news_document, stem_of, url_id
from rag.language import detect_language
from rag.schema import Document

__all__ = [
    "DOC_ID",
    "MAX_BYTES",
    "SUPPORTED",
    "ReadError",
    "ReadResult",
    "check_doc_id",
    "content_hash",
    "feed_documents",
    "find_files",
    "parse_mapping",
    "read_article",
    "read_file",
    "read_source",
    "slug",
    "upload_name",
]

log = logging.getLogger(__name__)
TEXT_SUFFIXES = {".txt", ".md", ".markdown"}
SUPPORTED = TEXT_SUFFIXES | {".html", ".htm", ".xml", ".rss", ".atom", ".json", ".jsonl"}
SUPPORTED_HINT = "use .txt, .md, .html, a feed (.xml, .rss, .atom), .json or .jsonl"
MAX_BYTES = 20_000_000
SINGLE_KINDS = ("text", "markdown", "html")  # one article per input: a file keeps its stem


@dataclass
class ReadResult:
    """The documents an input holds, what each lost on the way (`warnings[i]` for
    `documents[i]`: an unreadable date, only a summary), and one error per item (or for the
    whole input) that could not be read."""

    kind: str = ""
    documents: list[Document] = field(default_factory=list)
    warnings: list[tuple[str, ...]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def add(self, document: Document, warnings: tuple[str, ...] = ()) -> None:
        self.documents.append(document)
        self.warnings.append(tuple(warnings))

    @property
    def single(self) -> bool:
        """One article per input (a page, a text file), whose id a file or upload decides."""
        return self.kind in SINGLE_KINDS


def _decode(path: Path, raw: bytes) -> str:
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        raise ReadError(f"{path}:{line}: not valid UTF-8 (byte {err.start})") from None
    if "\x00" in text:
        line = text[: text.index("\x00")].count("\n") + 1
        raise ReadError(f"{path}:{line}: contains NUL bytes; is this a text file?")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _looks_like_keywords(line: str) -> bool:
    line = line.strip()
    return (
        bool(line)
        and "," in line
        and not line.endswith((".", "?", "!", ":"))
        and all(len(part.strip()) <= 60 for part in line.split(","))
    )


def read_article(path: Path, doc_id: str | None = None) -> Document:
    """One text article (.txt, .md): pages, feeds and exports are read by `read_file`."""
    path = Path(path)
    if path.suffix.lower() not in TEXT_SUFFIXES:
        raise ReadError(f"{path}: unsupported file type {path.suffix!r} (use .txt or .md)")
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise ReadError(f"{path}: cannot read ({err.strerror})") from None
    return article_from_bytes(raw, path, doc_id, MAX_BYTES)


def article_from_bytes(
    raw: bytes, path: Path, doc_id: str | None, max_bytes: int, markdown: bool | None = None
) -> Document:
    if len(raw) > max_bytes:
        raise ReadError(f"{path}: {len(raw):,} bytes, larger than the {max_bytes:,}-byte limit")
    text = _decode(path, raw)
    if not text.strip():
        raise ReadError(f"{path}:1: empty file")
    return parse_article(text, path, doc_id, markdown)


def upload_name(name: str) -> str:
    """The file name of an upload, refused when it is not a plain name of a supported type
    (no folders, no '..', no control characters)."""
    if not name or any(ord(c) < 32 or c in "\\/\x7f" for c in name) or name in (".", ".."):
        raise ReadError(f"{name!r}: not a plain file name (no folders or control characters)")
    if ".." in PurePosixPath(name).parts or name.startswith(".."):
        raise ReadError(f"{name!r}: not a plain file name")
    if len(name) > 255:
        raise ReadError(f"{name[:40]!r}...: file name longer than 255 characters")
    if PurePosixPath(name).suffix.lower() not in SUPPORTED:
        suffix = PurePosixPath(name).suffix
        raise ReadError(f"{name}: unsupported file type {suffix!r} ({SUPPORTED_HINT})")
    return name


def read_upload(
    name: str,
    raw: bytes,
    content_type: str = "",
    doc_id: str | None = None,
    max_bytes: int | None = None,
    fetch_page: Callable[[str], bytes | None] | None = None,
    mapping: dict[str, str] | None = None,
) -> ReadResult:
    """An uploaded file (any supported format). Its documents' source is `upload:NAME`; a
    page's or a text's id is `doc_id`, else its name's stem. ReadError for a bad name."""
    name = upload_name(name)
    if doc_id:
        check_doc_id(doc_id)
    return read_source(
        name,
        raw,
        content_type,
        source=f"upload:{name}",
        doc_id=doc_id,
        max_bytes=max_bytes,
        fetch_page=fetch_page,
        mapping=mapping,
    )


def article_from_fields(
    title: str, text: str, keywords: tuple[str, ...] = (), doc_id: str | None = None
) -> Document:
    """A document given as fields (the JSON API), stored in the seed format: title line,
    keyword line, blank line, body. Same text, same content hash as the equivalent file."""
    title = " ".join(title.split())
    if not title:
        raise ReadError("the title is empty")
    if len(title) > 300:
        raise ReadError(f"the title is {len(title)} characters long; the limit is 300")
    if any("," in k or "\n" in k for k in keywords):
        raise ReadError("a keyword contains a comma or a line break")
    body = text.replace("\r\n", "\n").replace("\r", "\n").strip("\n")
    if not body.strip():
        raise ReadError(f"{title!r}: no text after the title")
    if "\x00" in body:
        raise ReadError(f"{title!r}: the text contains NUL characters")
    keywords = tuple(k.strip() for k in keywords if k.strip())
    head = title + "\n" + (", ".join(keywords) + "\n" if keywords else "") + "\n"
    full = head + body + "\n"
    doc_id = check_doc_id(doc_id) if doc_id else slug(title)
    return Document(
        doc_id=doc_id,
        title=title,
        keywords=keywords,
        text=full,
        body_start=len(head),
        source=f"api:{doc_id}",
        language=detect_language(body[:4000], default="fr"),
        content_hash=content_hash(title, full),
    )


def parse_article(
    text: str, path: Path, doc_id: str | None = None, markdown: bool | None = None
) -> Document:
    """A text article; Markdown when `markdown`, or (None) when the name says so."""
    lines = text.split("\n")
    keywords: tuple[str, ...] = ()
    if markdown is None:
        markdown = path.suffix.lower() in (".md", ".markdown")
    if markdown:
        heading = next((m for m in re.finditer(r"(?m)^#\s+(.+)$", text)), None)
        title = heading.group(1).strip() if heading else path.stem
        body_start = heading.end() if heading else 0
    else:
        first = lines[0].strip()
        rest = text[len(lines[0]) + 1 :]
        if not rest.strip() and 0 < len(first) <= 200 and not first.endswith((".", "!", "?")):
            raise ReadError(f"{path}:2: no text after the title {first!r}")
        # A first line is a title when it is short, not a sentence, and text follows it.
        is_title = 0 < len(first) <= 200 and not first.endswith(".") and bool(rest.strip())
        title = first if is_title else path.stem.replace("_", " ")
        body_start = len(lines[0]) + 1 if is_title else 0
        if is_title and len(lines) > 2 and _looks_like_keywords(lines[1]) and not lines[2].strip():
            keywords = tuple(k.strip() for k in lines[1].split(",") if k.strip())
            body_start += len(lines[1]) + 1
    body = text[body_start:]
    if not body.strip():
        raise ReadError(f"{path}:{text[:body_start].count(chr(10)) + 1}: no text after the title")
    return Document(
        doc_id=doc_id or slug(path.stem),
        title=title,
        keywords=keywords,
        text=text,
        body_start=min(body_start, len(text)),
        source=str(path),
        language=detect_language(body[:4000], default="fr"),
        content_hash=content_hash(title, text),
    )


def parse_mapping(pairs: Sequence[str] | dict[str, str] | None) -> dict[str, str]:
    """An export mapping from `FIELD=PATH` pairs (or a dict), checked: ReadError names an
    unknown field or a pair that is not one."""
    if not pairs:
        return {}
    items = list(pairs.items()) if isinstance(pairs, dict) else []
    for pair in pairs if not isinstance(pairs, dict) else []:
        field_name, sep, path = pair.partition("=")
        if not sep or not field_name.strip() or not path.strip():
            raise ReadError(f"mapping {pair!r}: use FIELD=PATH, e.g. text=story.body_text")
        items.append((field_name, path))
    mapping = {str(k).strip(): str(v).strip() for k, v in items}
    unknown = sorted(set(mapping) - set(EXPORT_FIELDS))
    if unknown or not all(mapping.values()):
        raise ReadError(
            f"mapping: unknown field(s) {', '.join(unknown) or '(an empty path)'}; "
            f"use {', '.join(EXPORT_FIELDS)}"
        )
    return mapping


def find_files(paths: list[Path], suffixes: set[str] = SUPPORTED) -> list[Path]:
    """Expand folders into their files of these types, sorted; explicit files are kept as
    given."""
    files: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            files += sorted(f for f in p.rglob("*") if f.suffix.lower() in suffixes)
        elif p.exists():
            files.append(p)
        else:
            raise ReadError(f"{p}: no such file or folder")
    return files


def read_file(
    path: Path,
    fetch_page: Callable[[str], bytes | None] | None = None,
    mapping: dict[str, str] | None = None,
) -> ReadResult:
    """A file of any supported format; its documents' source is its absolute path.
    `mapping`: export fields (see `read_source`)."""
    path = Path(path)
    if path.suffix.lower() not in SUPPORTED:
        error = f"{path}: unsupported file type {path.suffix!r} ({SUPPORTED_HINT})"
        return ReadResult(errors=[error])
    try:
        raw = path.read_bytes()
    except OSError as err:
        return ReadResult(errors=[f"{path}: cannot read ({err.strerror})"])
    return read_source(
        str(path), raw, source=str(path.resolve()), fetch_page=fetch_page, mapping=mapping
    )


def read_source(
    name: str,
    raw: bytes,
    content_type: str = "",
    *,
    source: str | None = None,
    url: str = "",
    doc_id: str | None = None,
    fetch_page: Callable[[str], bytes | None] | None = None,
    mapping: dict[str, str] | None = None,
    max_bytes: int | None = None,
) -> ReadResult:
    """The articles of one input, whatever its format (`ingest.formats.sniff` on its name,
    content type and first bytes). Never raises for bad input: what could not be read is in
    `errors`, each naming `name` (the file, upload or URL) and the item.

    `source`: every document's source (a file's path, `upload:NAME`); without it, each
    article's URL, else `name`. `url`: the address the input was fetched from (pages and text
    read from it get the id `slug(host)-sha1(url)`). `doc_id`: the id of a single article
    (refused for a feed or an export of several). `fetch_page`: how a feed entry without
    content gets its linked page. `mapping`: export fields (ingest.formats.read_export)."""
    try:
        kind = sniff(name, content_type, raw)
    except ValueError as err:  # sniff reads JSON: a pathological input must not escape
        return ReadResult(errors=[f"{name}: cannot tell its format: {err}"])
    result = ReadResult(kind=kind)
    max_bytes = MAX_BYTES if max_bytes is None else max_bytes
    if len(raw) > max_bytes:
        result.errors.append(
            f"{name}: {len(raw):,} bytes, larger than the {max_bytes:,}-byte limit"
        )
        return result
    try:
        if kind in ("text", "markdown"):
            article = article_from_bytes(raw, Path(name), None, max_bytes, kind == "markdown")
            own_id = url_id(url) if url else slug(stem_of(name))
            result.add(replace(article, doc_id=own_id, source=source or name))
        elif kind == "html":
            found = extract_html(raw, name, url, encoding=_charset(content_type))
            own_id = url_id(url) if url else slug(stem_of(name))
            document = news_document(found, own_id, source or url or name, name)
            result.add(document, found.warnings)
        elif kind == "feed":
            _read_feed(result, name, raw, url, source, fetch_page)
        else:
            _read_export(result, name, raw, kind, source, mapping)
    except (ReadError, FormatError) as err:
        result.errors.append(str(err))
    except Exception as err:  # a parser's own failure on odd input: reported, never a 500
        log.exception("reading %s failed", name)
        result.errors.append(f"{name}: could not be read as {kind} ({type(err).__name__}: {err})")
    if doc_id and result.documents:
        if len(result.documents) + len(result.errors) > 1:
            result.errors.insert(
                0,
                f"{name}: a document id ({doc_id!r}) names one article, and this {kind} holds "
                f"{len(result.documents) + len(result.errors)}: give none",
            )
            result.documents, result.warnings = [], []
        else:
            result.documents = [replace(result.documents[0], doc_id=doc_id)]
    return result


def _charset(content_type: str) -> str:
    for param in content_type.split(";")[1:]:
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset":
            return value.strip().strip("\"'")
    return ""


def _read_feed(
    result: ReadResult,
    name: str,
    raw: bytes,
    url: str,
    source: str | None,
    fetch_page: Callable[[str], bytes | None] | None,
) -> None:
    feed = parse_feed(raw, url or name)
    read = feed_documents(feed, name, url, source, fetch_page)
    result.documents, result.warnings, result.errors = read.documents, read.warnings, read.errors


def feed_documents(
    feed: Feed,
    name: str,
    url: str = "",
    source: str | None = None,
    fetch_page: Callable[[str], bytes | None] | None = None,
    entries: Sequence[FeedEntry] | None = None,
) -> ReadResult:
    """The documents of a parsed feed's entries (all, or `entries`): each entry's article
    (ingest.formats.entry_article) under the id `slug(feed host)-sha1(guid)`. `name` (the
    file) or `url` (the feed's address) names the feed in messages."""
    result = ReadResult(kind="feed")
    address = feed.url or url or feed.link
    named = url or name

    def naming(message: str) -> str:  # entry messages name the feed by its URL or title
        return message if message.startswith(named) else f"{named}: {message}"

    for entry in feed.entries if entries is None else entries:
        where = f"{named}: entry {entry.guid or entry.title!r}"
        try:
            article = entry_article(entry, feed, fetch_page)
            identity = article.guid or article.url
            warnings = tuple(naming(w) for w in article.warnings)
            if not identity:  # neither guid nor link: the text is all there is to know it by
                identity = article.text
                warnings += (f"{where}: no guid and no link: identified by its text",)
            if not article.feed and url:
                article = replace(article, feed=url)
            own_id = entry_id(address, identity, stem_of(name))
            document = news_document(article, own_id, source or article.url or name, where)
        except (ReadError, FormatError) as err:
            result.errors.append(naming(str(err)))
            continue
        # what feedparser forgave is said once, with the first entry
        shared = tuple(feed.warnings) if not result.documents else ()
        result.add(document, shared + warnings)
    return result


def _read_export(
    result: ReadResult,
    name: str,
    raw: bytes,
    kind: str,
    source: str | None,
    mapping: dict[str, str] | None,
) -> None:
    export = read_export(raw, name, kind, mapping)  # type: ignore[arg-type]
    result.errors += [str(e) for e in export.errors]
    for article, place in zip(export.articles, export.places, strict=True):
        try:
            own_id = export_id(article, stem_of(name), place)
            document = news_document(article, own_id, source or article.url or name, place)
        except ReadError as err:
            result.errors.append(str(err))
            continue
        result.add(document, article.warnings)
