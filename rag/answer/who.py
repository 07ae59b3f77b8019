"""Outlets named in a question (« Qu'a écrit Le Monde sur … ? », "What did the Boston Herald
report …?"): a question that names, in full, an outlet the collection holds is asked of that
outlet's articles."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

# articles of outlets' names a question may write in lower case (« selon le Monde »)
_ARTICLES = {"le", "la", "les", "l", "the", "a"}


def _unaccented(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.replace("’", "'"))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def outlets_named(question: str, outlets: Iterable[str]) -> tuple[str, ...]:
    """The outlets among `outlets` whose whole name the question writes, its capitals kept
    (« le monde entier » does not name Le Monde), longest names first."""
    text = _unaccented(question)
    named: list[str] = []
    for outlet in sorted(outlets, key=len, reverse=True):
        name = _unaccented(outlet).strip()
        if len(name) < 3 or any(name.lower() in _unaccented(n).lower() for n in named):
            continue
        pattern = re.compile(r"(?<!\w)" + re.escape(name) + r"(?!\w)", re.IGNORECASE)
        for m in pattern.finditer(text):
            if _capitals_kept(name, m.group()):
                named.append(outlet)
                break
    return tuple(named)


def _capitals_kept(name: str, written: str) -> bool:
    """Every capitalised word of the name (but its articles) is capitalised as written."""
    for want, got in zip(name.split(), written.split(), strict=False):
        article = want.lower().strip("'") in _ARTICLES
        if want[:1].isupper() and not article and not got[:1].isupper():
            return False
    return True
