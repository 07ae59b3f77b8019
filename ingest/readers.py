"""Read articles into Documents: the seed format (line 1 title, line 2 comma-separated
keywords, then paragraphs), Markdown, and plain text. Offsets always refer to the file's
decoded text."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import replace
from pathlib import Path, PurePosixPath

from rag.language import detect_language
from rag.schema import Document

SUPPORTED = {".txt", ".md", ".markdown"}
MAX_BYTES = 20_000_000
DOC_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


class ReadError(ValueError):
    """A file that cannot be ingested; the message names the file (and line when known)."""


def content_hash(title: str, text: str) -> str:
    """What identifies a document's version: its title (embedded with every passage) and its
    text. The same article from a file, an upload, the JSON API or `rag eval` hashes alike."""
    return hashlib.sha256(f"{title}\x00{text}".encode()).hexdigest()


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


def slug(text: str, limit: int = 80) -> str:
    """A document id made of `text`: accents folded, other characters as '-'."""
    folded = unicodedata.normalize("NFKD", text)
    folded = "".join(c for c in folded if not unicodedata.combining(c))
    out = re.sub(r"[^A-Za-z0-9._-]+", "-", folded).strip("-._")[:limit].strip("-._")
    return out or "document"


def check_doc_id(doc_id: str) -> str:
    if not DOC_ID.match(doc_id):
        raise ReadError(
            f"invalid document id {doc_id!r}: use 1-128 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    return doc_id


def read_article(path: Path, doc_id: str | None = None) -> Document:
    path = Path(path)
    if path.suffix.lower() not in SUPPORTED:
        raise ReadError(f"{path}: unsupported file type {path.suffix!r} (use .txt or .md)")
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise ReadError(f"{path}: cannot read ({err.strerror})") from None
    return article_from_bytes(raw, path, doc_id, MAX_BYTES)


def article_from_bytes(raw: bytes, path: Path, doc_id: str | None, max_bytes: int) -> Document:
    if len(raw) > max_bytes:
        raise ReadError(f"{path}: {len(raw):,} bytes, larger than the {max_bytes:,}-byte limit")
    text = _decode(path, raw)
    if not text.strip():
        raise ReadError(f"{path}:1: empty file")
    return parse_article(text, path, doc_id)


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
        raise ReadError(f"{name}: unsupported file type {suffix!r} (use .txt or .md)")
    return name


def article_from_upload(name: str, raw: bytes, doc_id: str | None, max_bytes: int) -> Document:
    name = upload_name(name)
    path = Path(name)
    doc_id = check_doc_id(doc_id) if doc_id else slug(path.stem)
    return replace(article_from_bytes(raw, path, doc_id, max_bytes), source=f"upload:{name}")


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


def parse_article(text: str, path: Path, doc_id: str | None = None) -> Document:
    lines = text.split("\n")
    keywords: tuple[str, ...] = ()
    if path.suffix.lower() in (".md", ".markdown"):
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


def find_files(paths: list[Path]) -> list[Path]:
    """Expand folders into their supported files, sorted; explicit files are kept as given."""
    files: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            files += sorted(f for f in p.rglob("*") if f.suffix.lower() in SUPPORTED)
        elif p.exists():
            files.append(p)
        else:
            raise ReadError(f"{p}: no such file or folder")
    return files
