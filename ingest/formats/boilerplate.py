"""A few rules that remove what trafilatura keeps of a news page's boilerplate: cookie banners,
paywall prompts (and what follows them), newsletter sign-ups, copyright and photo-credit lines
at the end, and advertising written with look-alike letters of another script.

Each rule matches the wording of such boilerplate, in French and English, in a short paragraph:
an article paragraph long enough to say something is never dropped by wording alone. Measured
on the news pages of the benchmark (evaluation/bench/news_pages.py) and on held-out pages."""

from __future__ import annotations

import re
import unicodedata

# Boilerplate is short; a paragraph longer than this is article text whatever it says.
_SHORT = 400

_COOKIES = re.compile(
    r"\b(nous utilisons des cookies|ce site utilise des cookies|we use cookies|"
    r"this (?:web)?site uses cookies|en poursuivant votre navigation|"
    r"by continuing to (?:use|browse) this (?:web)?site)",
    re.IGNORECASE,
)
# A paywall prompt starts the paywall box: it and everything after it go.
_PAYWALL = re.compile(
    r"^(pour lire la suite|pour continuer [àa] lire|la suite (?:de cet article )?est réservée|"
    r"cet article est réservé aux abonnés|il vous reste \d+ ?% de cet article|"
    r"subscribe to (?:continue|keep) reading|to continue reading|"
    r"this (?:article|content) is (?:only )?(?:available|reserved) (?:to|for) subscribers)",
    re.IGNORECASE,
)
_NEWSLETTER = re.compile(r"\bnewsletters?\b|\blettre d.information\b", re.IGNORECASE)
_SIGN_UP = re.compile(
    r"\b(sign(?:ing)? up|subscribe|inscri(?:vez|ption|re)|abonnez|recevez|never miss)",
    re.IGNORECASE,
)
# Notices that close a page: copyright, rights, photo credits.
_NOTICE = re.compile(
    r"^(©|\(c\)\s|copyright\b|tous droits réservés|all rights reserved|"
    r"crédits? photos?\b|photos? credits?\b|crédit\s*:|this article is the copyrighted)",
    re.IGNORECASE,
)
# "Read also" links that papers put between paragraphs.
_READ_ALSO = re.compile(
    r"^(?:[àa] )?(lire aussi|lire également|voir aussi|read (?:also|more)|see also|related)"
    r"\b\s*[:|-]?",
    re.IGNORECASE,
)
_WORD = re.compile(r"\w+")


def _scripts(word: str) -> set[str]:
    return {unicodedata.name(c, "?").split()[0] for c in word if c.isalpha()}


def _mixed_script(paragraph: str) -> bool:
    """Many words that mix Latin letters with Cyrillic look-alikes ("Веlіzе"): a trick of
    advertising and spam to escape filters; real text does not spell words that way. (Greek
    is left alone: "μg" and "αβ" are ordinary in science.)"""
    words = _WORD.findall(paragraph)
    mixed = sum({"LATIN", "CYRILLIC"} <= _scripts(w) for w in words)
    return mixed >= 3 and mixed >= 0.2 * len(words)


def _is_boilerplate(paragraph: str) -> bool:
    if _mixed_script(paragraph):
        return True
    if len(paragraph) > _SHORT:
        return False
    if _COOKIES.search(paragraph) or _READ_ALSO.match(paragraph):
        return True
    return bool(_NEWSLETTER.search(paragraph) and _SIGN_UP.search(paragraph))


def _fold(text: str) -> str:
    return " ".join(text.split()).casefold()


def _drop_title_repeats(paragraphs: list[str], title: str) -> list[str]:
    folded_title = _fold(title)
    while folded_title and paragraphs:
        first = _fold(paragraphs[0])
        if first != folded_title and not first.startswith(
            (folded_title + " |", folded_title + " -")
        ):
            break
        paragraphs = paragraphs[1:]
    return paragraphs


def clean_paragraphs(paragraphs: list[str], title: str = "") -> list[str]:
    """The paragraphs without the boilerplate that the rules above recognise, and without
    the leading ones that repeat the title (stored apart), alone or followed by a separator
    and the section, site or date ("Title | Environnement | DW | 23.05.2011")."""
    kept: list[str] = []
    for paragraph in paragraphs:
        if len(paragraph) <= _SHORT and _PAYWALL.match(paragraph) and kept:
            break
        if not _is_boilerplate(paragraph):
            kept.append(paragraph)
    while len(kept) > 1 and len(kept[-1]) <= _SHORT and _NOTICE.match(kept[-1]):
        kept.pop()
    return _drop_title_repeats(kept, title)
