"""Tiny French/English detector: questions are short, so stop words beat n-gram models here."""

from __future__ import annotations

import re

_FR = set(
    "le la les un une des du de d l au aux et est sont que qui quoi quel quelle quels quelles "
    "quand comment pourquoi où dans sur pour par avec sans ce cette ces son sa ses leur leurs "
    "il elle ils elles nous vous je tu on pas ne plus été être avoir a ont fait combien "
    "lequel laquelle lesquels dont y en se s qu c n j m t".split()
)
_EN = set(
    "the a an of and is are was were what which who whom whose when where why how does do did "
    "in for with by to from this that these those it its they their there his her has have "
    "had be been not many much can could would should will".split()
)
_WORD = re.compile(r"[a-zà-öø-ÿœæ]+", re.IGNORECASE)
_POSSESSIVE = re.compile(r"(?<=[a-z])'s\b", re.IGNORECASE)
_FR_CHARS = re.compile(r"[éèêëàâîïôûùüçœ]", re.IGNORECASE)


def detect_language(text: str, default: str = "en") -> str:
    """Return 'fr' or 'en'."""
    text = text.replace("’", "'")
    # "Piketty's" is English; French elides before the apostrophe ("s'il", "l'accord")
    possessives = len(_POSSESSIVE.findall(text))
    words = [w.lower() for w in _WORD.findall(_POSSESSIVE.sub(" ", text))]
    fr = sum(w in _FR for w in words) + 0.5 * len(_FR_CHARS.findall(text))
    en = sum(w in _EN for w in words) + possessives
    if fr == en:
        return default
    return "fr" if fr > en else "en"
