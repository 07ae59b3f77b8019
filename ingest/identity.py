"""What identifies a document: its id (`slug`, `check_doc_id`) and its version
(`content_hash`), and the error of input that cannot be read (`ReadError`)."""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata

DOC_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


class ReadError(ValueError):
    """Input that cannot be ingested; the message names the file or URL (and the line, the
    index or the entry when known) and what is wrong."""


def content_hash(title: str, text: str, **metadata: object) -> str:
    """What identifies a document's version: its title (embedded with every passage), its
    text, and the metadata shown with it (date, outlet, authors, URL, feed), so that a
    corrected date or outlet updates the document. Without metadata (or only empty values),
    `sha256(title \\0 text)`, as stores written before metadata existed recorded it. The same
    article from a file, an upload, the JSON API or `rag eval` hashes alike."""
    shown = {k: list(v) if isinstance(v, tuple) else v for k, v in metadata.items() if v}
    payload = f"{title}\x00{text}"
    if shown:
        payload += "\x00" + json.dumps(shown, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(payload.encode()).hexdigest()


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
