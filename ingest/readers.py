"""Read articles: the seed format (line 1 title, line 2 comma-separated keywords, then
paragraphs), Markdown, and plain text. Offsets always refer to the file's decoded text."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from rag.language import detect_language

SUPPORTED = {".txt", ".md", ".markdown"}
MAX_BYTES = 20_000_000


class ReadError(ValueError):
    """A file that cannot be ingested; the message names the file (and line when known)."""


@dataclass(frozen=True)
class Article:
    doc_id: str
    title: str
    keywords: tuple[str, ...]
    text: str  # the whole decoded file
    body_start: int  # where paragraphs begin in `text`
    source: str
    language: str
    content_hash: str


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


def read_article(path: Path, doc_id: str | None = None) -> Article:
    path = Path(path)
    if path.suffix.lower() not in SUPPORTED:
        raise ReadError(f"{path}: unsupported file type {path.suffix!r} (use .txt or .md)")
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise ReadError(f"{path}: cannot read ({err.strerror})") from None
    if len(raw) > MAX_BYTES:
        raise ReadError(f"{path}: larger than {MAX_BYTES // 1_000_000} MB")
    text = _decode(path, raw)
    if not text.strip():
        raise ReadError(f"{path}:1: empty file")
    return parse_article(text, path, doc_id)


def parse_article(text: str, path: Path, doc_id: str | None = None) -> Article:
    lines = text.split("\n")
    keywords: tuple[str, ...] = ()
    if path.suffix.lower() in (".md", ".markdown"):
        heading = next((m for m in re.finditer(r"(?m)^#\s+(.+)$", text)), None)
        title = heading.group(1).strip() if heading else path.stem
        body_start = heading.end() if heading else 0
    else:
        first = lines[0].strip()
        rest = text[len(lines[0]) + 1 :]
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
    return Article(
        doc_id=doc_id or path.stem,
        title=title,
        keywords=keywords,
        text=text,
        body_start=min(body_start, len(text)),
        source=str(path),
        language=detect_language(body[:4000], default="fr"),
        content_hash=hashlib.sha256(text.encode()).hexdigest(),
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
