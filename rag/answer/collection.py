"""Questions about the collection itself: « Quels articles parlent du titane ? », "Which
outlets reported the agreement?", « Combien d'articles mentionnent EDF ? ». They are answered
from the articles' metadata and passages, without the model: every article that speaks of
the topic is listed (title, outlet, date) and cited by the passage that does, so the list can
be checked like any answer; reprints of one story are listed with their own outlets.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from rag.answer.when import day_in_words
from rag.schema import Passage
from rag.text import analyse, fold

Kind = Literal["which", "how_many", "outlets"]
COLLECTION = "collection"  # the decision's name: the answer was listed, not generated

_FR_OF = r"(?: (?P<of>sur|des|du|de|d)\b)?"  # kept, to say « parle du titane », « d’EDF »
_FR = [
    (
        "outlets",
        r"^(?:quels?|quelles?) (?:medias?|journaux|journal|titres?|sources?|sites?|redactions?)"
        r"(?: ont| a)? (?:parle|parlent|evoque|evoquent|rapporte|rapportent|couvert|couvrent|"
        r"traite|traitent|mentionne|mentionnent|ecrit|ecrivent)\b" + _FR_OF,
    ),
    (
        "how_many",
        r"^combien (?:d |de )(?:articles?|textes?|documents?)(?: ont| a)? (?:parle|parlent|"
        r"evoque|evoquent|mentionne|mentionnent|traite|traitent|portent|porte)\b" + _FR_OF,
    ),
    (
        "which",
        r"^(?:quels?|quelles?) (?:sont les )?(?:articles?|textes?|documents?)"
        r"(?: ont| a| qui)? ?(?:parle|parlent|evoque|evoquent|mentionne|mentionnent|traite|"
        r"traitent|portent|porte|sur|concernent|concerne)\b" + _FR_OF,
    ),
    (
        "which",
        r"^(?:liste|listez|cite|citez) les (?:articles?|textes?|documents?)(?: qui parlent)?"
        + _FR_OF,
    ),
]
_EN = [
    (
        "outlets",
        r"^(?:which|what) (?:outlets?|media|newspapers?|papers?|sources?|sites?|publications?)"
        r" (?:have )?(?:reported|report|covered|cover|wrote|write|mentioned|mention|talked|"
        r"discussed|discuss)\b(?: on| about| of)?",
    ),
    (
        "how_many",
        r"^how many (?:articles?|stories|texts?|documents?) (?:mention|mentioned|talk|talked|"
        r"are|were|cover|covered|discuss|discussed|report|reported)\b(?: about| on| of)?",
    ),
    (
        "which",
        r"^(?:which|what) (?:articles?|stories|texts?|documents?) (?:mention|mentioned|talk|"
        r"talked|are|were|cover|covered|discuss|discussed|report|reported)\b(?: about| on| of)?"
        r"|^list (?:the |all )?(?:articles?|stories|documents?)(?: about| on| of| that mention)",
    ),
]
_PATTERNS = {
    "fr": [(k, re.compile(p)) for k, p in _FR],
    "en": [(k, re.compile(p)) for k, p in _EN],
}


@dataclass(frozen=True)
class CollectionAsk:
    kind: Kind
    topic: str  # what the articles must speak of, as the question wrote it
    of: str = ""  # the French preposition before it in the question (de, du, des, d, sur)

    def of_topic(self) -> str:
        """« du titane », « d’EDF », « de l’accord »: the topic after « parle »."""
        if self.of in ("du", "des", "de"):
            return f"{self.of} {self.topic}"
        head, _, rest = self.topic.partition(" ")
        if head.lower() in ("le", "les") and rest:  # « sur le titane » → « du titane »
            return f"{'du' if head.lower() == 'le' else 'des'} {rest}"
        vowel = fold(self.topic[:1]) in set("aeiouyh")
        return f"d’{self.topic}" if vowel else f"de {self.topic}"


def collection_ask(question: str, language: str) -> CollectionAsk | None:
    """The question asks about the collection: which articles, how many, which outlets."""
    folded = " ".join(re.sub(r"[’'`-]", " ", fold(question)).split())
    for kind, pattern in _PATTERNS.get(language, _PATTERNS["en"]):
        m = pattern.match(folded)
        if m:
            # the topic: the question's own words after the matched phrase (accents kept);
            # words are counted as the folded text splits them, apostrophes included
            n = len(folded[: m.end()].split())
            words = list(re.finditer(r"[^\s’'`-]+", question))
            if n >= len(words):
                return None
            topic = question[words[n].start() :].strip(" ?!.")
            of = (m.groupdict().get("of") or "") if language == "fr" else ""
            return CollectionAsk(kind, topic, of) if topic else None
    return None


# An article speaks of the topic when one of its passages holds this share of the topic's
# content words (stemmed, accents folded): both of two words, two of three, three of four or
# five (at 0.5, « mine de zinc » listed the titanium article for its « mine »); across
# languages, when its best sentence is this close to the topic by e5.
TOPIC_SHARE = 0.6
TOPIC_SIMILARITY = 0.84


@dataclass(frozen=True)
class Listed:
    passage: Passage  # the passage that speaks of the topic, cited
    outlet: str
    published: str
    title: str


def articles_on(
    topic: str,
    language: str,
    passages: Sequence[Passage],
    similarity: Callable[[Passage], float] | None = None,
) -> list[Listed]:
    """The articles among `passages` (best first) that speak of `topic`, one entry each, in
    rank order, with the first of their passages that does."""
    stems = {lang: set(analyse(_named(topic), lang)) for lang in ("fr", "en")}
    out: dict[str, Listed] = {}
    for p in passages:
        doc = p.chunk.doc_id
        if doc in out:
            continue
        words = stems.get(p.chunk.language, stems["en"])
        held = set(analyse(f"{p.chunk.title}\n{p.chunk.text}", p.chunk.language))
        same = p.chunk.language == language
        close = same and bool(words) and len(words & held) / len(words) >= TOPIC_SHARE
        if not close and not same and similarity is not None:
            close = similarity(p) >= TOPIC_SIMILARITY
        if close:
            out[doc] = Listed(p, p.chunk.outlet, p.chunk.published, p.chunk.title)
    return list(out.values())


def _named(topic: str) -> str:
    """A person's name is found by its last word (« Raoult » for « Didier Raoult »); other
    topics by all their words."""
    words = topic.split()
    if 1 < len(words) <= 4 and all(w[:1].isupper() for w in words):
        return words[-1]
    return topic


def answer_text(ask: CollectionAsk, listed: Sequence[Listed], language: str) -> str:
    """The answer, markers in the order of `listed` ([1] is its first article)."""
    fr = language == "fr"
    if not listed:
        return (
            f"Aucun article ne parle {ask.of_topic()}."
            if fr
            else f"No article speaks of {ask.topic}."
        )

    def described(i: int, item: Listed) -> str:
        when = day_in_words(item.published, language)
        about = ", ".join(x for x in (item.outlet, when) if x)
        quoted = f"« {item.title} »" if fr else f"“{item.title}”"
        return f"{quoted}{f' ({about})' if about else ''} [{i}]"

    n = len(listed)
    if ask.kind == "outlets":
        named = [(i, x.outlet) for i, x in enumerate(listed, 1) if x.outlet]
        if named:
            outlets: dict[str, list[int]] = {}
            for i, outlet in named:
                outlets.setdefault(outlet, []).append(i)
            parts = [f"{o} {''.join(f'[{i}]' for i in ids)}" for o, ids in outlets.items()]
            unnamed = [i for i, x in enumerate(listed, 1) if not x.outlet]
            if unnamed:  # every cited article is in the answer, outlet or not
                markers = "".join(f"[{i}]" for i in unnamed)
                many = len(unnamed) > 1
                parts.append(
                    f"{'des articles' if many else 'un article'} sans média indiqué {markers}"
                    if fr
                    else f"{'articles' if many else 'an article'} with no outlet named {markers}"
                )
            joined = _join(parts, fr)
            return (
                f"{joined} en {'ont' if len(parts) > 1 else 'a'} parlé."
                if fr
                else f"{joined} reported it."
            )
    items = "; ".join(described(i, x) for i, x in enumerate(listed, 1))
    if ask.kind == "how_many":
        head = (
            f"{n} article{'s' if n > 1 else ''} {'parlent' if n > 1 else 'parle'} {ask.of_topic()}"
            if fr
            else f"{n} article{'s' if n > 1 else ''} {'speak' if n > 1 else 'speaks'} of "
            f"{ask.topic}"
        )
    else:
        head = (
            f"Les articles qui parlent {ask.of_topic()}"
            if fr
            else f"The articles about {ask.topic}"
        )
    return f"{head} : {items}." if fr else f"{head}: {items}."


def _join(parts: Sequence[str], fr: bool) -> str:
    if len(parts) == 1:
        return parts[0]
    return ", ".join(parts[:-1]) + (" et " if fr else " and ") + parts[-1]
