"""JSON and JSON-lines exports of news APIs and scrapers -> articles, one per object.

A bad object does not fail its file: `read_export` returns the good articles and one error
per bad object (naming the file, the line or the index, and what is wrong), so that the
caller reports each and never writes half a document. What fails the whole file: bytes that
are not UTF-8, invalid JSON in a .json file, JSON that holds no list of objects, a mapping
naming an unknown field.

NewsAPI-style `content` is cut by the API at about 200 characters and ends with
"… [+1234 chars]": the marker is removed, the `description` is put before the cut content
(unless the content already holds it), and a warning says how much the source left out.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Literal

from ingest.formats.base import Extracted, FormatError
from ingest.formats.dates import read_date
from ingest.formats.markup import fragment_paragraphs

# Our field -> the names exports give it, most specific first (matched case-insensitively).
FIELDS: dict[str, tuple[str, ...]] = {
    "title": ("title", "headline"),
    "text": (
        "content", "body", "text", "article", "full_text", "fulltext", "articlebody",
        "article_body", "body_text", "maintext",
    ),
    "summary": ("description", "summary", "abstract", "excerpt", "lead", "standfirst"),
    "published": (
        "published", "date", "publishedat", "pubdate", "datepublished", "published_at",
        "published_date", "publish_date", "date_publish", "publication_date", "created_at",
    ),
    "url": ("url", "link", "canonical_url", "uri"),
    "outlet": ("source", "outlet", "site_name", "sitename", "publisher", "source_name"),
    "authors": ("authors", "author", "byline", "creator", "creators"),
    "language": ("language", "lang"),
    "keywords": ("keywords", "tags", "categories", "category"),
    "id": ("id", "_id", "guid", "uuid", "article_id", "doc_id"),
}  # fmt: skip
# Where the articles are in an object that holds them (NewsAPI, search APIs, dumps).
LIST_KEYS = ("articles", "results", "data", "items", "entries", "docs", "news", "stories")
_TRUNCATED = re.compile(r"\s*(?:…|\.\.\.)?\s*\[\+(\d+) chars\]\s*$")
_HTML = re.compile(r"<(?:p|br|div|h[1-6]|li|ul|ol|blockquote|span|a|b|i|em|strong)\b[^>]*>", re.I)
TITLE_FROM_TEXT = 120


@dataclass(frozen=True)
class ItemError:
    where: str  # "file.jsonl:12" or "file.json[3]"
    message: str  # the whole message, naming `where` and what is wrong

    def __str__(self) -> str:
        return self.message


@dataclass
class ExportResult:
    articles: list[Extracted] = field(default_factory=list)
    errors: list[ItemError] = field(default_factory=list)
    # where each article was: "file.jsonl:12", "file.json[3]" (places[i] for articles[i])
    places: list[str] = field(default_factory=list)


def _lower_keys(obj: dict) -> dict[str, Any]:
    return {str(k).lower(): v for k, v in obj.items()}


def _path(obj: Any, dotted: str) -> Any:
    """The value at a dotted path ("story.body_text", "items.0.name"), case-insensitive."""
    value = obj
    for part in dotted.split("."):
        if isinstance(value, dict):
            value = _lower_keys(value).get(part.lower())
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return None
    return value


def _name(value: Any) -> str:
    """A string, or an object's `name` (NewsAPI's source, schema.org's Person)."""
    if isinstance(value, dict):
        value = _lower_keys(value).get("name") or ""
    return " ".join(str(value).split()) if isinstance(value, str | int | float) else ""


def _names(value: Any) -> tuple[str, ...]:
    if isinstance(value, list):
        names = [_name(v) for v in value]
    elif isinstance(value, str):
        names = re.split(r"\s*[;|]\s*|\s*,\s*(?=\S+\s+\S)", value)  # "A, B" but not "Doe, J."
    else:
        names = [_name(value)]
    return tuple(dict.fromkeys(n.strip() for n in names if n and n.strip()))


def _words(value: Any) -> tuple[str, ...]:
    items = value if isinstance(value, list) else str(value or "").split(",")
    return tuple(dict.fromkeys(w for w in (_name(i) for i in items) if w))


def _paragraphs(value: Any) -> str:
    """A text field as stored paragraphs: HTML through its block elements, plain text by
    its blank lines (or by its lines when it has no blank line)."""
    if not isinstance(value, str):
        return ""
    text = value.replace("\r\n", "\n").replace("\r", "\n")
    if _HTML.search(text):
        return "\n\n".join(fragment_paragraphs(text))
    blocks = re.split(r"\n\s*\n", text) if re.search(r"\n\s*\n", text) else text.split("\n")
    return "\n\n".join(p for p in (" ".join(b.split()) for b in blocks) if p)


class _Fields:
    """The values of one object, by our field names: the mapping's dotted path when given,
    else the first of the common names present."""

    def __init__(self, obj: dict, mapping: dict[str, str]):
        self.obj, self.lower, self.mapping = obj, _lower_keys(obj), mapping

    def get(self, name: str) -> tuple[Any, str]:
        if name in self.mapping:
            return _path(self.obj, self.mapping[name]), self.mapping[name]
        for key in FIELDS[name]:
            value = self.lower.get(key)
            if value not in (None, "", [], {}):
                return value, key
        return None, ""

    def text(self) -> tuple[str, str]:
        """The longest of the body fields present (exports often give a short `text` and a
        long `content`, or the reverse), and the field it came from."""
        if "text" in self.mapping:
            path = self.mapping["text"]
            return _paragraphs(_path(self.obj, path)), path
        found = [(_paragraphs(self.lower.get(k)), k) for k in FIELDS["text"] if k in self.lower]
        return max(found, key=lambda pair: len(pair[0]), default=("", ""))


def _article(obj: Any, where: str, mapping: dict[str, str]) -> Extracted:
    if not isinstance(obj, dict):
        raise FormatError(f"{where}: not an object but {type(obj).__name__} {_preview(obj)}")
    fields = _Fields(obj, mapping)
    warnings: list[str] = []
    text, text_key = fields.text()
    summary = _paragraphs(fields.get("summary")[0])
    cut = _TRUNCATED.search(text)
    if cut:
        text = text[: cut.start()].rstrip()
        if summary and summary not in text:
            text = f"{summary}\n\n{text}"
        warnings.append(
            f"{where}: field '{text_key}' was cut by the source ({int(cut.group(1)):,} "
            "characters left out): the description and the cut text are kept"
        )
    if not text and summary:
        text = summary
        warnings.append(f"{where}: only the summary was available")
    if not text:
        wanted = mapping.get("text") or "/".join(FIELDS["text"][:5])
        raise FormatError(f"{where}: no text (looked for {wanted}); keys: {sorted(obj)[:12]}")
    title = " ".join(str(fields.get("title")[0] or "").split())
    if not title:
        first = text.split("\n")[0]
        title = (
            first
            if len(first) <= TITLE_FROM_TEXT
            else first[:TITLE_FROM_TEXT].rsplit(" ", 1)[0] + "…"
        )
        warnings.append(f"{where}: no title: the first words of the text stand for it")
    raw_date, date_key = fields.get("published")
    reading = read_date(raw_date, f"{where}: field '{date_key}'")
    if reading.warning:
        warnings.append(reading.warning)
    language = _name(fields.get("language")[0]).replace("_", "-").split("-")[0].lower()
    return Extracted(
        title=title,
        text=text,
        published=reading.value,
        published_precision=reading.precision,
        outlet=_name(fields.get("outlet")[0]),
        authors=_names(fields.get("authors")[0]),
        url=_name(fields.get("url")[0]),
        language=language if language.isalpha() and len(language) in (2, 3) else "",
        keywords=_words(fields.get("keywords")[0]),
        guid=_name(fields.get("id")[0]),  # the object's own id, when the export gives one
        warnings=tuple(warnings),
    )


def _preview(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 60 else text[:57] + "..."


def _items(data: Any, source: str) -> list[Any]:
    """The objects of a .json export: a list, or the one list an object holds (NewsAPI's
    "articles", "results", "data", ...), or the object itself when it is an article."""
    if isinstance(data, list):
        return data
    if not isinstance(data, dict):
        raise FormatError(f"{source}: a JSON {type(data).__name__}, not a list of articles")
    lower = _lower_keys(data)
    lists = {
        k: v
        for k, v in lower.items()
        if isinstance(v, list) and any(isinstance(i, dict) for i in v)
    }
    for key in LIST_KEYS:
        if key in lists:
            return lists[key]
    if len(lists) == 1:
        return next(iter(lists.values()))
    if any(k in lower for k in FIELDS["text"] + FIELDS["summary"]):
        return [data]
    if lists:
        raise FormatError(
            f"{source}: several lists ({', '.join(sorted(lists))}): which holds the articles?"
        )
    raise FormatError(f"{source}: no list of articles (keys: {', '.join(sorted(lower)[:12])})")


def _decode(raw: bytes, source: str) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        raise FormatError(f"{source}:{line}: not valid UTF-8 (byte {err.start})") from None


def read_export(
    raw: bytes,
    source: str,
    kind: Literal["json", "jsonl"],
    mapping: dict[str, str] | None = None,
) -> ExportResult:
    """The articles of a JSON or JSON-lines export, and an error for each object that could
    not be read. `mapping` ({"text": "story.body_text", "published": "meta.ts"}) names the
    dotted path of a field and overrides the common names (see FIELDS)."""
    mapping = dict(mapping or {})
    unknown = sorted(set(mapping) - set(FIELDS))
    if unknown:
        raise FormatError(
            f"mapping: unknown field(s) {', '.join(unknown)}; use {', '.join(FIELDS)}"
        )
    text = _decode(raw, source)
    result = ExportResult()
    if kind == "json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as err:
            raise FormatError(
                f"{source}:{err.lineno}:{err.colno}: invalid JSON: {err.msg}"
            ) from None
        located = [(f"{source}[{i}]", item) for i, item in enumerate(_items(data, source))]
    elif kind == "jsonl":
        located = []
        for number, line in enumerate(text.split("\n"), start=1):
            if not line.strip():
                continue
            try:
                located.append((f"{source}:{number}", json.loads(line)))
            except json.JSONDecodeError as err:
                message = f"{source}:{number}:{err.colno}: invalid JSON: {err.msg}"
                result.errors.append(ItemError(f"{source}:{number}", message))
    else:
        raise FormatError(f"{source}: unknown export kind {kind!r} (json or jsonl)")
    if not located and not result.errors:
        raise FormatError(f"{source}: no articles (an empty export)")
    for where, item in located:
        try:
            result.articles.append(_article(item, where, mapping))
            result.places.append(where)
        except FormatError as err:
            result.errors.append(ItemError(where, str(err)))
    return result
