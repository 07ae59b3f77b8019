"""The checks a draft's claims go through, each a small named rule.

A rule reads the live claims (not dropped yet, with the citations earlier rules gave them) and
the evidence, and returns Decisions; it changes nothing itself. rag.verify.stage applies them
in ORDER. Only claims a rule acts on get a decision.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Literal

import numpy as np

from rag.embedding import Embedder
from rag.grounding import best_source, claim_numbers, lexical_support, numbers_in
from rag.text import (
    analyse,
    fold,
    names_in,
    question_names,
    shown_name,
    split_sentences,
    text_words,
)
from rag.verify.claims import Claim
from rag.verify.config import VerifyConfig

# "stop": drop this claim and ignore the rest of the draft (the model is copying sources out)
Action = Literal["keep", "drop", "recite", "abstain", "stop"]


@dataclass(frozen=True)
class Decision:
    rule: str
    claim: int | None  # Claim.index; None: the whole answer
    action: Action
    reason: str  # a short sentence for people: logs and the response
    cites: tuple[int, ...] = ()  # "recite": the passages it cites now (model numbering)
    # a sentence the answer adds after the claim (model numbering): « Les sources diffèrent… »
    note: str = ""


@dataclass(frozen=True)
class Evidence:
    """What rules may read besides the live claims."""

    draft: str  # normalised draft, model numbering
    claims: tuple[Claim, ...]  # every claim of the draft, dropped or not
    sources: tuple[str, ...]  # "title\ntext" of passage k at index k - 1
    question: str
    language: str  # the question's, which the answer ends up in
    used: str  # the language the draft is written in
    same_language: bool  # every passage is in `used`: words can be compared
    config: VerifyConfig
    embedder: Embedder | None = None  # for claims across languages only
    # texts the embedder already read for this draft: every claim citing a passage compares
    # with the same clauses, embedded once (rag.verify.stage keeps one per draft)
    vectors: dict[str, np.ndarray] = field(default_factory=dict)
    # the language of passage k at index k - 1; empty when unknown
    source_languages: tuple[str, ...] = ()
    # the document of passage k at index k - 1 (passages of one article are never compared as
    # two sources); empty when unknown
    source_docs: tuple[str, ...] = ()


Rule = Callable[[Sequence[Claim], Evidence], list[Decision]]

NUMBER_IN_SOURCES = "number-in-sources"
WORDS_IN_SOURCES = "words-in-sources"
ABSTENTION = "abstention"
UNCITED_CLAIM = "uncited-claim"
NUMBER_IN_CITED = "number-in-cited-passage"
QUESTION_NAMES = "question-names"


_TWO_NAMED = re.compile(r"\S\s+(?:et|and)(?:\s+\S|[A-ZÀ-ÖØ-Þ])")  # "etGuillaume": a typo


def unheld_numbers(claim: str, question: str, held: set[str]) -> dict[str, str]:
    """The numbers of a claim that `held` (the passages' numbers) lacks and that it must
    hold: not 2 when the question names two things (« Qui étaient Thomas d'Aquin et Guillaume
    d'Ockham ? »: « … sont deux philosophes scolastiques »), nor the question's own numbers
    when the claim's answer is a number the passages hold ("How much higher was the rate in
    2000 to 2005 compared to 1995 to 2000?": "… was 18% higher", over a passage that never
    writes 1995): right answers of the checking half the number rules dropped. A claim whose
    only number is the question's (« … suspendu en 2018 pour … ») must still find it."""
    numbers = claim_numbers(claim)
    given = {"2"} if _TWO_NAMED.search(question) else set()
    asked = numbers_in(question)
    if any(d not in asked and d in held for d in numbers):
        given |= asked
    return {d: w for d, w in numbers.items() if d not in held and d not in given}


def number_in_sources(claims: Sequence[Claim], ev: Evidence) -> list[Decision]:
    """A number a claim states (in digits, or in words: "ten months") that no passage holds
    (in digits or words) is made up: numbers do not depend on the language, so this holds
    across languages too."""
    known: set[str] = set()
    for s in ev.sources:
        known |= numbers_in(s)
    out = []
    for c in claims:
        missing = list(unheld_numbers(c.text, ev.question, known).values())
        if missing:
            reason = f"number {missing[0]} found in no passage"
            out.append(Decision(NUMBER_IN_SOURCES, c.index, "drop", reason))
    return out


_WORD = re.compile(r"\w+")
_NAME = re.compile(r"(?<=[\w,;:] )[A-ZÀ-ÖØ-Þ][\w’'-]+")


def _names(claim: str) -> list[str]:
    """Capitalised words that do not start a sentence: people, places, organisations; not a
    yes or a no after a colon (« La réponse est : Non [1] », a right answer of the checking
    half dropped for its « Non »)."""
    found = [n.split("’")[-1].split("'")[-1] for n in _NAME.findall(claim.strip())]
    return [n for n in found if fold(n) not in _YES_NO.split()]


_ACRONYM_SPELLED = re.compile(
    r"\b([A-Z]{2,6})\s*\(([^()]{3,80})\)|([A-Z][^()]{2,80}?)\s*\(([A-Z]{2,6})\)"
)


def _spelled_acronyms(claim: str, names: set[str]) -> set[str]:
    """Words of a claim that spell out an acronym the sources write: "the NBA (National
    Basketball Association)" over a passage that says "NBA" (a right answer of the checking
    half dropped for "Basketball")."""
    out: set[str] = set()
    for m in _ACRONYM_SPELLED.finditer(claim):
        acronym, words = (m.group(1), m.group(2)) if m.group(1) else (m.group(4), m.group(3))
        capitals = [w for w in _WORD.findall(words) if w[:1].isupper()]
        initials = "".join(w[0] for w in capitals[-len(acronym) :])
        if fold(acronym) in names and initials == acronym:
            out |= {fold(w) for w in capitals}
    return out


@cache
def _stems(words: str, language: str) -> frozenset[str]:
    """A fixed word list as `analyse` reads it in `language` (computed once per list)."""
    return frozenset(analyse(words, language))


# An answer's "oui" or "yes" is no word the passages must hold: « Oui, le bourreau était
# masqué [1] » was a right answer of the checking half dropped for its "oui".
_YES_NO = "oui non si yes no"


# Words that frame an answer rather than state it: prepositions and adverbs our stop lists
# (shared with the keyword index) keep, the verbs of naming, the words of an age. « … est
# entre 2015 et 2025 » and « … est généralement appelée "Italie" » were right answers of the
# checking half dropped for them.
_FRAMING = (
    "entre environ depuis avant apres pendant vers jusqu lors parmi pres presque aussi tres sous "
    "plus moins souvent generalement egalement notamment appele appelee appeles appelees "
    "nomme nommee nommes nommees connu connue connus connues "
    "between about around approximately roughly nearly almost since before after during until "
    "among also very more less often usually generally called named known under "
    # an age: « 18 ans », "9–18 years old" (a right answer of the checking half dropped)
    "ans agee agees years old aged "
    # « La réponse est : Non [1] » (a right answer of the checking half dropped)
    "reponse answer"
)


def _own_words(claim: str, question: str, language: str) -> list[str]:
    """The stems a claim adds to the question: not the question's, no digits, no word that
    frames an answer."""
    asked = set(analyse(question, language))
    skip = _stems(_YES_NO, language) | _stems(_FRAMING, language)
    return [
        w for w in analyse(claim, language) if w not in asked and not w.isdigit() and w not in skip
    ]


def words_in_sources(claims: Sequence[Claim], ev: Evidence) -> list[Decision]:
    """In the sources' language, most words a claim adds to the question (stemmed, accents
    folded; "oui", "yes" and words that frame an answer, "between", « appelée », aside) must
    be in the passages, and every part of every name it uses must be named there ("DVB-S2",
    "San Diego-Carlsbad"). Across languages words cannot be compared. When the passages mix
    languages, a claim that cites only passages of its own language is checked against those
    passages' words (and every passage's names)."""
    if ev.same_language:
        checked = list(claims)
        own = set(range(len(ev.sources)))
    else:
        own = {k for k, lang in enumerate(ev.source_languages) if lang == ev.used}
        checked = [c for c in claims if c.cites and all(n - 1 in own for n in c.cites)]
    if not checked:
        return []
    asked = set(analyse(ev.question, ev.used))
    words = set(asked)
    names = set(_WORD.findall(fold(ev.question)))
    for k, s in enumerate(ev.sources):
        names |= set(_WORD.findall(fold(s)))
        if k in own:
            words |= set(analyse(s, ev.used))
    minimum = ev.config.min_support
    out = []
    for c in checked:
        spelled = _spelled_acronyms(c.text, names)
        spelled_stems = set(analyse(" ".join(spelled), ev.used))
        added = [w for w in _own_words(c.text, ev.question, ev.used) if w not in spelled_stems]
        found = sum(w in words for w in added)
        support = found / len(added) if added else 1.0
        unknown = [
            n
            for n in _names(c.text)
            if any(p not in names for p in _WORD.findall(fold(n))) and fold(n) not in spelled
        ]
        if unknown:
            reason = f"name {unknown[0]} found in no passage"
        elif support < minimum:
            reason = f"{found} of its {len(added)} own words in the passages (under {minimum:.0%})"
        else:
            continue
        out.append(Decision(WORDS_IN_SOURCES, c.index, "drop", reason))
    return out


def uncited_claim(claims: Sequence[Claim], ev: Evidence) -> list[Decision]:
    """Every claim must cite its source. In the sources' language an uncited claim cites the
    passage holding the largest share of its words, or is dropped when none holds enough.
    Across languages it cites the passage holding the sentence or clause most similar to it by
    multilingual-e5 (the passages within `crosslingual_margin` of it too); under
    `crosslingual_cite_minimum` (`_short` for a claim under 6 words), the one passage holding
    most of its word stems, or it is dropped. Sentences,
    not whole passages: a translated sentence scores 0.92-0.94 against its original, but 0.79
    against its whole passage."""
    todo = [c for c in claims if c.needs_citation]
    if not todo or not ev.sources:
        return []
    s = ev.config
    texts = [c.raw for c in todo]  # no marker in an uncited claim
    if ev.same_language:
        scores = [[lexical_support(t, src, ev.used) for src in ev.sources] for t in texts]
        return [_cite_by_words(c, row, s) for c, row in zip(todo, scores, strict=True)]
    if ev.embedder is None:
        raise ValueError("claims across languages need an embedder")
    return [_cite_by_sentence(c, ev) for c in todo]


def _cite_by_words(c: Claim, row: list[float], s: VerifyConfig) -> Decision:
    pick, best = best_source(row, s.lexical_minimum, s.lexical_margin), max(row)
    if pick is None:
        reason = (
            f"uncited, and no passage holds {s.lexical_minimum:.0%} of its words (best {best:.0%})"
        )
        return Decision(UNCITED_CLAIM, c.index, "drop", reason)
    reason = f"uncited; passage {pick + 1} holds it best ({best:.0%} of its words)"
    return Decision(UNCITED_CLAIM, c.index, "recite", reason, (pick + 1,))


def _same_statement(claim: str, s: VerifyConfig) -> float:
    """The e5 similarity from which a claim and a sentence or clause in the other language
    say the same thing: above what unrelated text reaches (rag bench crosslingual_null).
    A short claim (a list item) finds a close clause by chance more easily than a sentence."""
    short = len(claim.split()) < 6
    return s.crosslingual_cite_minimum_short if short else s.crosslingual_cite_minimum


def _cite_by_sentence(c: Claim, ev: Evidence) -> Decision:
    s = ev.config
    units = [comparable_units(src) for src in ev.sources]
    _embedded(ev, [c.says, *(x for xs in units for x in xs)])
    claim_vector = ev.vectors[c.says]
    row = [float(np.max(_embedded(ev, xs) @ claim_vector)) for xs in units]
    best = max(row)
    minimum = _same_statement(c.says, s)
    if best < minimum:
        cognate = _cite_by_cognates(c, ev)
        if cognate is not None:
            return cognate
        reason = f"uncited; no passage holds a sentence this close ({best:.2f} < {minimum:.2f})"
        return Decision(UNCITED_CLAIM, c.index, "drop", reason)
    cites = tuple(k + 1 for k, x in enumerate(row) if x >= best - s.crosslingual_margin)
    cites = tuple(sorted(cites, key=lambda k: -row[k - 1]))
    held = " and ".join(map(str, cites))
    held = f"passage {held} holds" if len(cites) == 1 else f"passages {held} hold"
    reason = f"uncited; {held} the closest sentence (similarity {best:.2f})"
    return Decision(UNCITED_CLAIM, c.index, "recite", reason, cites)


def _cite_by_cognates(c: Claim, ev: Evidence) -> Decision | None:
    """A short claim e5 does not place may still share its stems with one passage across
    languages ("Geology and exploration" / « géologie et exploration »: geolog, explor)."""
    words = set(analyse(c.says, ev.used))
    if len(words) < 2:
        return None
    stems = [{w for lang in ("fr", "en") for w in analyse(src, lang)} for src in ev.sources]
    row = [len(words & held) / len(words) for held in stems]
    pick = best_source(row, ev.config.lexical_minimum, ev.config.lexical_margin)
    if pick is None:
        return None
    reason = f"uncited; passage {pick + 1} holds {row[pick]:.0%} of its word stems"
    return Decision(UNCITED_CLAIM, c.index, "recite", reason, (pick + 1,))


def _embedded(ev: Evidence, texts: Sequence[str]) -> np.ndarray:
    """The e5 vectors of `texts` (as queries), each embedded once per draft: a claim and the
    passages' clauses are read by `uncited-claim` and `polarity` alike."""
    assert ev.embedder is not None
    missing = [x for x in dict.fromkeys(texts) if x not in ev.vectors]
    if missing:
        vectors = ev.embedder.embed_queries(missing)
        ev.vectors.update(
            (x, np.asarray(v, dtype=np.float32)) for x, v in zip(missing, vectors, strict=True)
        )
    return np.asarray([ev.vectors[x] for x in texts], dtype=np.float32)


def comparable_units(text: str) -> list[str]:
    """What an uncited claim across languages is compared with: the passage's sentences, and
    its clauses of 3 words or more (a list item translates a clause: « l’attraction de
    capitaux » / "Attraction of capital", 0.93)."""
    clauses = [x.strip() for x in CLAUSE.split(text) if len(x.split()) >= 3]
    return list(dict.fromkeys([*split_sentences(text), *clauses]))


def unnamed_subject(question: str, language: str, sources: Sequence[str]) -> str | None:
    """The first name of the question that none of `sources` names (rag.text.names_in), or
    None. Names compare only within one language: "Japon" is not "Japan"."""
    names = question_names(question, language)
    if not names or not sources:
        return None
    words = set().union(*(text_words(s) for s in sources))
    return next((shown_name(n) for n in names if not names_in(n, words)), None)


def names_cited(claims: Sequence[Claim], ev: Evidence) -> list[Decision]:
    """A claim answers about what the question names, so a passage it cites must name it
    too: "La monnaie du Japon est l'euro [1]" citing a passage about the euro that never
    names Japan is dropped. Checked when the cited passages are in the question's language."""
    if ev.language not in ev.config.names_languages:
        return []
    out = []
    for c in claims:
        if not c.cites or any(n < 1 or n > len(ev.sources) for n in c.cites):
            continue
        if ev.source_languages and any(ev.source_languages[n - 1] != ev.language for n in c.cites):
            continue
        if not ev.source_languages and ev.used != ev.language:
            continue
        missing = unnamed_subject(ev.question, ev.language, [ev.sources[n - 1] for n in c.cites])
        if not missing:
            continue
        never = f"the passages it cites never name {missing!r}, which the question names"
        better = _naming_source(c, ev)
        if better is None:
            out.append(Decision(QUESTION_NAMES, c.index, "drop", never))
        else:
            reason = f"{never}; passage {better} names it and holds the claim's words"
            out.append(Decision(QUESTION_NAMES, c.index, "recite", reason, (better,)))
    return out


def _naming_source(c: Claim, ev: Evidence) -> int | None:
    """The passage (its number) that names everything the question names and holds best the
    words the claim adds to the question, at least `min_support` of them (as
    `words-in-sources` counts them): the model gave the wrong number
    (« Michel VIII … est connu sous le surnom de Paléologue [3] », where passage 1 names
    « Michel VIII Paléologue »: a right answer of the checking half dropped)."""
    same = [
        k
        for k in range(len(ev.sources))
        if not ev.source_languages or ev.source_languages[k] == ev.language
    ]
    naming = [k for k in same if unnamed_subject(ev.question, ev.language, [ev.sources[k]]) is None]
    if not naming:
        return None
    own = set(_own_words(c.text, ev.question, ev.used))
    if not own:
        return None
    support = {k: len(own & set(analyse(ev.sources[k], ev.used))) / len(own) for k in naming}
    best = max(naming, key=support.__getitem__)
    return best + 1 if support[best] >= ev.config.min_support else None


def number_in_cited_passage(claims: Sequence[Claim], ev: Evidence) -> list[Decision]:
    """A number must be in a passage the claim cites, not merely somewhere in the sources:
    otherwise the claim cites the first passage holding all its numbers (or, when no single
    one does, also the first holding each missing one); a number no passage holds drops it."""
    held = [numbers_in(s) for s in ev.sources]
    out = []
    for c in claims:
        cites = [k for k in c.cites if 1 <= k <= len(held)]
        if not cites:
            continue
        in_cited: set[str] = set()
        for k in cites:
            in_cited |= held[k - 1]
        missing = unheld_numbers(c.text, ev.question, in_cited)
        if not missing:
            continue
        numbers = {d for d in claim_numbers(c.text) if d in missing or d in in_cited}
        first, written = next(iter(missing.items()))
        cited = ", ".join(map(str, cites))
        whole = [k for k, h in enumerate(held, 1) if set(numbers) <= h]
        holders = {d: next((k for k, h in enumerate(held, 1) if d in h), None) for d in missing}
        where = whole[0] if whole else holders[first]
        if whole:
            new: tuple[int, ...] = (whole[0],)
        elif None in holders.values():
            lost = next(missing[d] for d, k in holders.items() if k is None)
            reason = f"number {lost} found in no passage"
            out.append(Decision(NUMBER_IN_CITED, c.index, "drop", reason))
            continue
        else:
            new = tuple(dict.fromkeys([*cites, *(k for k in holders.values() if k)]))
        reason = f"number {written} is in passage {where}, not in cited passage {cited}"
        out.append(Decision(NUMBER_IN_CITED, c.index, "recite", reason, new))
    return out


RESTATES_QUESTION = "restates-question"
COPIES_HEADING = "copies-heading"
POLARITY = "polarity"
ANSWER_KIND = "answer-kind"


# Words about the sources themselves: "He was quoted in sources [2] and [1]" tells a reader
# where a name appears, not what the articles say about it.
_ABOUT_SOURCES = (
    "source sources article articles passage passages text texts document documents context "
    "quoted cited mentioned referenced according "
    "texte textes contexte cite citee cites citees mentionne mentionnee mentionnes "
    "mentionnees evoque evoquee evoques evoquees selon"
)


def restates_question(claims: Sequence[Claim], ev: Evidence) -> list[Decision]:
    """A claim whose every word (stemmed, accents folded, stop words out) is already in the
    question adds nothing: "The new line opens when the line opens [1]" answers nothing. Nor
    does one whose other words only say that the sources mention it ("He was quoted in
    sources [2] and [1]"). A line that introduces a list (ending with ':') is not a claim of
    its own. A claim that writes as a name what the question wrote as common words does
    answer: « Les Programmes de France diffusait ses programmes… » answers « Quelle production
    diffusait ses programmes en France… ? »; so does a statement answering a yes-or-no
    question with its own words (the question copied back, "?" and all, does not).
    A draft whose every claim this drops is declined: the model asked again, told so, answered
    none of 17 such questions (3 tuning, 14 checking), nor did the passages' sentence closest
    to the question hold the answer on the tuning half (docs/EVALUATION.md, "Late night")."""
    languages = {ev.used, ev.language}
    asked = set().union(*(analyse(ev.question, lang) for lang in languages))
    meta = set().union(*(_stems(_ABOUT_SOURCES, lang) for lang in languages))
    question_capitals = {fold(w) for w in _names(ev.question)}
    yes_no = asks_yes_or_no(ev.question)
    out = []
    for c in claims:
        if not any(ch.isalnum() for ch in c.text):  # "[1], [2], [3]": markers and commas
            out.append(Decision(RESTATES_QUESTION, c.index, "drop", "says nothing: only markers"))
            continue
        if c.opens_list:
            continue
        if any(fold(n) not in question_capitals for n in _names(c.text)):
            continue  # a name the question did not write as a name: what it asked for
        if yes_no and not c.text.rstrip().endswith("?"):
            continue  # « La marine indienne emploie des femmes. » answers « … emploie-t-elle … ? »
        own = set(analyse(c.text, ev.used))
        if own and own <= asked:
            reason = "says nothing the question does not already say"
        elif own and own <= asked | meta:
            reason = "says only that the sources mention it"
        else:
            continue
        out.append(Decision(RESTATES_QUESTION, c.index, "drop", reason))
    return out


# A question answered by yes or no: no interrogative word, and the verb before its subject
# (« emploie-t-elle », « sont ils », "Is the …", "Did …") or « est-ce que » (accents folded).
_WH = re.compile(
    r"\b(?:qui|que|qu|quoi|quel|quelle|quels|quelles|quand|comment|pourquoi|combien|"
    r"lequel|laquelle|lesquels|lesquelles|who|whom|whose|what|which|when|where|why|how)\b"
)
_INVERSION = re.compile(
    r"^(?:est ce qu|(?:\w+ ){1,7}?(?:t )?(?:il|elle|ils|elles|on|je|tu|nous|vous)\b)"
    r"|^(?:is|are|was|were|do|does|did|can|could|will|would|has|have|had|should|shall|"
    r"may|might|must)\b"
)


def asks_yes_or_no(question: str) -> bool:
    if "où" in question.lower():  # "where" ("ou", or, folds the same: checked before folding)
        return False
    q = " ".join(re.sub(r"[’'`-]", " ", fold(question)).split())
    return not _WH.search(q.removeprefix("est ce qu")) and bool(_INVERSION.search(q))


def _headings(source: str) -> set[str]:
    """The section headings inside a source ("title\ntext"): short lines that end without a
    sentence's punctuation. Not the title: an article's title is often the very name a
    question asks for (PIAF: "Othman ibn Affân")."""
    lines = [line.strip() for line in source.splitlines()[1:]]
    return {
        _bare(line)
        for line in lines
        if line and len(line.split()) <= 12 and not line.endswith((".", "!", "?", "…", ":", ";"))
    }


def _bare(text: str) -> str:
    return " ".join(re.findall(r"\w+", fold(re.sub(r"\[\d+\]", " ", text))))


_HEADER = re.compile(r"\s*\[(\d+)\]\s*(\S.*?)\s*$")


def copies_heading(claims: Sequence[Claim], ev: Evidence) -> list[Decision]:
    """A claim that is only a section heading of a passage answers nothing: a small model
    copies "Stratégie et opportunités dans le titane" when its greedy path slips. A line that
    reprints a source's header the way the prompt shows it, "[3] La République en marche",
    means the model has started copying the sources out: it and the rest stop there."""
    headings = set().union(*(_headings(s) for s in ev.sources)) if ev.sources else set()
    out = []
    for c in claims:
        header = _HEADER.fullmatch(c.raw)
        n = int(header.group(1)) if header else 0
        if header and 1 <= n <= len(ev.sources):
            title = ev.sources[n - 1].splitlines()[0] if ev.sources[n - 1] else ""
            if _bare(header.group(2)) == _bare(title):
                reason = f"reprints the header of source {n}: the rest copies the sources out"
                out.append(Decision(COPIES_HEADING, c.index, "stop", reason))
                continue
        if _bare(c.text) and _bare(c.text) in headings:
            reason = "copies a heading of the sources, not a sentence that answers"
            out.append(Decision(COPIES_HEADING, c.index, "drop", reason))
    return out


# Negation and refusal, accents folded: "ne … pas", "n'a jamais", aucun, sans, refuse,
# décline, dément; not, never, no, without, refused, declined, denied.
_NEGATION = re.compile(
    r"\b(?:n|ne)\b[^.;:]{0,40}?\b(?:pas|plus|jamais|rien|aucun|aucune|guere|nullement)\b"
    r"|\b(?:aucun|aucune|jamais|sans|ni|nul|nulle)\b|\brefus\w*|\bdeclin\w*|\bdement\w*"
    r"|\bnie\b|\bnient\b"
    r"|\b(?:not|no|never|none|nobody|nothing|neither|nor|without)\b|n't\b"
    r"|\bden(?:y|ied|ies)\b"
)
# clause boundaries (also how evaluation.bench.crosslingual_null cuts list-item fragments)
CLAUSE = re.compile(r"[.;:!?]|,\s+(?:mais|but|while|alors que|tandis que|although|bien que)\b|,")


# Negations that affirm (litotes): "ne ménagea pas ses efforts", "n'hésite pas à", "ne cesse
# de", "non sans", "pas seulement", "did not hesitate", "not without", "not only"; and two
# that restrict rather than deny: "no … other than", "that is not a".
_LITOTES = re.compile(
    r"\b(?:n|ne)\b(?:\s+\w+){0,2}?\s+(?:menag|manqu|hesit|cess|laiss)\w*\s+(?:pas|jamais|guere)\b"
    r"|\b(?:n|ne)\b\s+(?:\w+\s+){0,2}?(?:pas|jamais)\s+(?:\w+\s+)?(?:cess|hesit|manqu)\w*"
    r"|\b(?:non|pas)\s+(?:sans|seulement|uniquement)\b|\bnot (?:without|only)\b"
    r"|\b(?:did not|didn t|never) (?:hesitate|fail|cease)\w*"
    # "no divisors other than 1 and itself", "aucun autre que": only, not a denial
    r"|\b(?:no|aucun|aucune)\s+(?:\w+\s+){0,3}?(?:other than|except|but|autre que|sauf|hormis)\b"
    # a class defined by what it is not: "a number that is not a prime is called composite"
    r"|\b(?:that|which|who) (?:is|are) not (?:a|an)\b"
    r"|\bqui (?:n )?(?:est|sont) pas (?:un|une|des)\b"
)
# "non" is left out: far more often a prefix or a name ("Non au CDG Express") than a negation


_QUOTED = re.compile(r"\"[^\"]{0,40}\"|“[^”]{0,40}”|«[^»]{0,40}»")


def _negated(text: str) -> bool:
    """A negation or a refusal; a word in quotes is mentioned, not said (`("yes" or "no")`)."""
    text = _QUOTED.sub(" ", text)
    folded = " " + re.sub(r"[’'`]", " ", fold(text)) + " "
    return bool(_NEGATION.search(_LITOTES.sub(" ", folded)))


def polarity(claims: Sequence[Claim], ev: Evidence) -> list[Decision]:
    """A claim must not say the opposite of the clause it cites: the cited passages' clause
    closest to it is negated ("a refusé de commenter", "did not", "aucun") while the claim is
    not, or the reverse. In the sources' language the closest clause shares most of its words
    (at least half); across languages (an English answer over French articles) it is the
    clause most similar by multilingual-e5, and only when the two say the same thing
    (`_same_statement`: "… is the French Minister …" is 0.866 to « … a refusé de commenter … »,
    a true contradiction 0.92-0.94). The negation words of both languages are known either
    way."""
    out = []
    for c in claims:
        cites = [k for k in c.cites if 1 <= k <= len(ev.sources)]
        clauses = [x for k in cites for x in CLAUSE.split(ev.sources[k - 1]) if x.strip()]
        if not clauses:
            continue
        found = _closest_clause(c, clauses, ev)
        if found is None:
            continue
        clause, span = found
        if _negated(c.text):
            # A negated claim denies its clause only if neither the clause's whole sentence
            # nor the question holds a negation: the span can cut « n'assure pas » to
            # « pas »; a claim that copies a sentence spans its clauses (« … qui n'est pas
            # organisée en défense, au dépourvu », "… break their vows without sin, because
            # vows were …" is closest to the clause after the comma); a claim answering « Quel
            # projet n'a pas été retenu ? » repeats the question's (right answers of the
            # checking half and the tuning half that `polarity` dropped)
            if _negated(_sentence_of(clause, cites, ev)) or _negated(ev.question):
                continue
        elif not _negated(span):
            continue
        said = "says the opposite of" if _negated(span) else "denies what"
        reason = f"{said} its cited passage: “{' '.join(span.split())[:120]}”"
        out.append(Decision(POLARITY, c.index, "drop", reason))
    return out


def _sentence_of(clause: str, cites: Sequence[int], ev: Evidence) -> str:
    """The sentence of the cited passages that holds `clause` (the clause when none does)."""
    for k in cites:
        for sentence in split_sentences(ev.sources[k - 1]):
            if clause.strip() in sentence:
                return sentence
    return clause


def _closest_clause(claim: Claim, clauses: list[str], ev: Evidence) -> tuple[str, str] | None:
    """The cited clause that says what the claim says, and the span of it that does (the
    whole clause across languages), or None."""
    if ev.same_language:
        words = set(analyse(claim.text, ev.used))
        if len(words) < 2:
            return None
        shares = [len(words & set(analyse(x, ev.used))) / len(words) for x in clauses]
        best = max(range(len(clauses)), key=shares.__getitem__)
        if shares[best] < 0.5:
            return None
        return clauses[best], _shared_span(clauses[best], words, ev.used)
    if ev.embedder is None or len(claim.text.split()) < 3:
        return None
    similarity = _embedded(ev, clauses) @ _embedded(ev, [claim.says])[0]
    best = int(np.argmax(similarity))
    if similarity[best] < _same_statement(claim.says, ev.config):
        return None
    return clauses[best], clauses[best]


def _shared_span(clause: str, words: set[str], language: str, margin: int = 2) -> str:
    """The part of `clause` that says what the claim says: the densest run of the claim's
    words (hits at most GAP words apart), with `margin` words either side (« ne … pas »
    around a shared verb). A negation elsewhere in the clause is about something else: « Le
    calendrier musulman fondé sur l'observation … à l'œil nu ne peut pas répondre … » does not
    deny "Muslims use observation with the naked eye", nor "… is considered a health care
    professional and often does not work under …" that a technician is a professional (right
    answers of the checking half that `polarity` dropped)."""
    tokens = list(_WORD.finditer(clause))
    stems = [set(analyse(t.group(), language)) & words for t in tokens]
    hits = [i for i, found in enumerate(stems) if found]
    if not hits:
        return clause
    runs: list[list[int]] = [[hits[0]]]
    for i in hits[1:]:
        if i - runs[-1][-1] > GAP:
            runs.append([])
        runs[-1].append(i)
    best = max(runs, key=lambda run: len(set().union(*(stems[i] for i in run))))
    first, last = max(0, best[0] - margin), min(len(tokens) - 1, best[-1] + margin)
    return clause[tokens[first].start() : tokens[last].end()]


GAP = 4  # words between two of a claim's words that still say the same thing


_QUANTITY_Q = re.compile(
    r"\b(?:combien|how (?:much|many)|quel(?:le)?s? (?:est|sont|etait|etaient) (?:le|la|les) "
    r"(?:montant|nombre|prix|cout|somme|taux|chiffre|pourcentage|part)|what (?:is|was|are|were) "
    r"the (?:amount|number|price|cost|sum|rate|figure|percentage|share)"
    # an age is a figure: « Quel est l'âge minimum … ? » answered with a century is no answer
    r"|quel(?:le)? (?:est |etait )?l['’ ]?age|quel age|how old|(?:at )?what age)\b"
)
_DATE_Q = re.compile(
    r"\b(?:quand|a quelle date|en quelle annee|depuis quand|when|what year|in which year|"
    r"what date|on which date)\b"
)
# A quantity in words is an answer to "how much / combien" too: "often many times", « des
# centaines », "a dozen" (accents folded)
_VAGUE_QUANTITY = re.compile(
    r"\b(?:many|several|few|numerous|countless|dozens?|hundreds|thousands|millions|billions|"
    r"a lot|lots|most|half|majority|minority|plusieurs|nombreux|nombreuses|beaucoup|quelques|"
    r"peu de|dizaines?|centaines?|milliers|millions|milliards|la plupart|moitie|majorite|"
    r"minorite|tiers|quart|aucun|aucune|none|no one)\b"
)
_PERSON_Q = re.compile(r"^\s*(?:qui|who|whom|by whom|par qui)\b")
# An interrogative that asks for no kind in particular: before a "when" it decides ("What
# happens to the norm when a number is multiplied by p?" asks for no date: a right answer of
# the checking half was declined for want of one)
_OTHER_Q = re.compile(
    r"\b(?:what|which|how|why|where|que|quoi|quel|quelle|quels|quelles|comment|pourquoi|ou)\b"
)
_MONTHS = (
    "janvier fevrier mars avril mai juin juillet aout septembre octobre novembre decembre "
    "january february march april may june july august september october november december "
    "lundi mardi mercredi jeudi vendredi samedi dimanche monday tuesday wednesday thursday "
    "friday saturday sunday hier demain aujourd siecle yesterday tomorrow today century "
    "printemps automne hiver spring summer autumn winter "
    # a time of the year, week or day answers "when" too: « en fin de saison » (a right
    # answer of the checking half declined for want of a date)
    "saison saisons season seasons semaine semaines week weeks weekend mois month months "
    "decennie decennies decade decades epoque era matin soir nuit morning evening night midi "
    "noon"
).split()
# « été » the season, not « a été » (been), which folds to the same word: a French passive
# answered every « quand » (« Elton John a été anobli à onze ans », an unanswerable question
# of the checking half)
_DATE = re.compile(
    r"\b\d{1,4}\b|\b(?:" + "|".join(_MONTHS) + r")\b|\b[XVI]{1,5}e\b"
    r"|\b(?:en|cet|l|d|le|de l) ete\b"
)
# A period answers "when" too: « rédigé durant la Restauration » (a right answer of the
# checking half declined for want of a date), « sous Louis XIV », "during the Reformation"
_PERIOD = re.compile(
    r"\b(?:durant|pendant|sous|lors d[eu]|au cours d[eu]|during|under)\s+"
    r"(?:(?:la|le|les|l['’]|the)\s*)?(?:[A-ZÀ-ÖØ-Þ]\w+|règne|regne|reign|guerre|war)"
)
_PROPER = re.compile(r"(?:^|[\s(«\"“])(?:[A-ZÀ-ÖØ-Þ][\w’'-]+|[A-Z]{2,})")
_OPENERS = {
    "le", "la", "les", "l", "un", "une", "des", "il", "elle", "ils", "elles", "ce", "cette",
    "the", "a", "an", "he", "she", "they", "it", "this", "that", "selon", "according", "en",
    "in", "on", "au", "aux", "du", "de", "d",
}  # fmt: skip


def asked_kind(question: str) -> str | None:
    """What the question asks for: "quantity", "date", "person", or None (anything)."""
    q = fold(question)
    # the first interrogative decides: "Who was the leader when …" asks for a person
    found = [
        (m.start(), rank, kind)
        for rank, kind, pattern in (
            (0, "quantity", _QUANTITY_Q),
            (0, "date", _DATE_Q),
            (0, "person", _PERSON_Q),
            (1, None, _OTHER_Q),  # "how many" and "what year" are kinds; "how", "what" are not
        )
        if (m := pattern.search(q))
    ]
    return min(found, key=lambda x: x[:2])[2] if found else None


def gives_kind(text: str, kind: str | None, question: str = "") -> bool:
    """The text holds an answer of that kind: a number (digits or words) for a quantity; a
    year, date, month, day or century for a date; for a person or organisation, a name, or
    a subject the question does not name ("Les mécanismes du système …" answers "qui assure
    la cohérence ?"; "The agreement was signed …" does not answer "who signed the
    agreement?")."""
    if kind is None:
        return True
    if kind == "quantity":
        return bool(numbers_in(text) or _VAGUE_QUANTITY.search(fold(text)))
    if kind == "date":
        return bool(_DATE.search(re.sub(r"['’]", " ", fold(text))) or _PERIOD.search(text))
    names = [m.group(0).strip(' («"“') for m in _PROPER.finditer(text)]
    if any(fold(n).split("’")[0].split("'")[0] not in _OPENERS for n in names):
        return True
    return bool(question) and (_new_subject(text, question) or _new_agent(text, question))


_DETERMINERS = set(
    "le la les l un une des du ce cet cette ces son sa ses leur leurs the a an this these "
    "those his her their its".split()
)


def _new_subject(text: str, question: str) -> bool:
    """The claim opens with a determiner and a noun that is not among the question's words."""
    words = re.sub(r"[’'`]", " ", fold(text)).split()
    i = 0
    while i < len(words) and words[i] in _DETERMINERS:
        i += 1
    if i == 0 or i >= len(words) or not words[i].isalpha():
        return False
    asked = {w for lang in ("fr", "en") for w in analyse(question, lang)}
    head = {w for lang in ("fr", "en") for w in analyse(words[i], lang)}
    return bool(head) and not head & asked


# « élu par l'assemblée », "appointed by the council": who did it, in the passive
_AGENT = re.compile(r"\b(?:par|by) (?:le|la|les|l|un|une|des|du|the|a|an) ([a-z]\w+)")


def _new_agent(text: str, question: str) -> bool:
    """The claim names, after « par » or "by", an agent the question does not name: « Le
    président de la région est élu par l'assemblée » answers « Par qui le président de la
    région est-il élu ? » (a right answer of the checking half declined for want of a name)."""
    asked = {w for lang in ("fr", "en") for w in analyse(question, lang)}
    for m in _AGENT.finditer(re.sub(r"[’'`]", " ", fold(text))):
        head = {w for lang in ("fr", "en") for w in analyse(m.group(1), lang)}
        if head and not head & asked:
            return True
    return False


def answer_kind(claims: Sequence[Claim], ev: Evidence) -> list[Decision]:
    """An answer of another kind than the question asks for (no figure for "combien", no date
    for "when", no name for "who") abstains: a cited sentence of the wrong kind is not an
    answer. Answer-level: the stage holds claims until one gives the asked kind."""
    kind = asked_kind(ev.question)
    said = [c for c in claims if c.text.strip()]
    if kind is None or not said or any(gives_kind(c.text, kind, ev.question) for c in said):
        return []
    what = {"quantity": "a figure", "date": "a date", "person": "a name"}[kind]
    reason = f"the question asks for {what}; the answer gives none"
    return [Decision(ANSWER_KIND, None, "abstain", reason)]
