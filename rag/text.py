"""Text analysis shared by every stage: accent folding, stop words, Snowball stems, and every
way a text is cut into pieces.

Three cuts, one per purpose, all here:
- `sentence_spans` / `split_sentences`: the sentences of a source passage. Their vectors are
  stored at ingestion (one per sentence), so this cut is fixed by the stored data: changing it
  misaligns every stored passage until it is ingested again.
- `claim_spans` / `answer_claims`: the claims of a model's answer: sentences or lines, never
  cut after an initial or an abbreviation ("Y. pestis"), list numbering left out.
- `last_phrase`: the phrase a citation marker backs, inside a claim (cut at ; and : too).
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

_TOKEN = re.compile(r"\w+", re.UNICODE)
_STOP = {
    "fr": set(
        "ai as au aura auront aux avaient avait avec avez avons c ce celle celui ces cet cette "
        "ceux combien comment d dans de des dont du elle en es est et eu eux fus fut il ils j "
        "je l la laquelle le lequel les leur lui m ma mais me mes moi mon même n ne nos notre "
        "nous on ont ou où par pas pour pourquoi qu quand que quel quelle quelles quels qui s "
        "sa se sera serai serait seront ses sommes son sont suis sur t ta te tes toi ton tu un "
        "une vos votre vous y à étaient étais était étant été étée étées étés êtes ".split()
    ),
    "en": set(
        "a an and are as at be been being but by can could did do does for from had has have "
        "he her his how i if in is it its many may me might much must my no not of on or our "
        "shall she should than that the their them then there these they this those to was we "
        "were what when where which who whom whose why will with would you your ".split()
    ),
}


# --- the normal form of text the embedder reads ----------------------------------------
# The same character typed two ways must not make two vectors: e5 embeds « l’accord » and
# « l'accord » differently, and a question typed with the keyboard's ' missed a passage
# written with ’. Questions, passages and sentences are embedded in this form; offsets and
# the text shown stay the source's. Its version is recorded with each passage collection
# (rag.store): a store embedded with another form is embedded again before it is used.
TEXT_FORM = 1
_NORMAL = str.maketrans(
    {
        "’": "'", "‘": "'", "ʼ": "'", "‛": "'", "`": "'", "´": "'", "′": "'",
        "«": '"', "»": '"', "“": '"', "”": '"', "„": '"', "‟": '"', "″": '"',
        "‹": '"', "›": '"',
        "–": "-", "—": "-", "‐": "-", "‑": "-", "‒": "-", "−": "-",
        "\u00a0": " ", "\u202f": " ", "\u2009": " ", "\u2007": " ", "\u2002": " ",
        "\u2003": " ", "\u200a": " ", "\u2008": " ", "\u3000": " ",
        "\u200b": "", "\u00ad": "", "\ufeff": "",
        "…": "...",
    }
)  # fmt: skip
_SPACES = re.compile(r"[ \t]{2,}")


def normal_form(text: str) -> str:
    """`text` as the embedder reads it: one apostrophe, one double quote, one dash, plain
    spaces (no-break and thin ones too), "..." for an ellipsis, Unicode NFC."""
    text = unicodedata.normalize("NFC", text).translate(_NORMAL)
    return _SPACES.sub(" ", text)


_APOSTROPHES = re.compile(r"(?<=\w)['’](?=\w)")


def with_apostrophes_of(text: str, sources: str) -> str:
    """`text` with its apostrophes written as `sources` mostly writes them (’ or '). The model
    reads a question typed with the keyboard's ' over articles written with ’ as another
    question: over the seed, « Quels sont les quatre objectifs de l'accord ? » lost an
    objective that « … de l’accord ? » listed (greedy decoding, the same passages)."""
    curly, straight = sources.count("’"), sources.count("'")
    if curly == straight:
        return text
    mark = "’" if curly > straight else "'"
    return _APOSTROPHES.sub(mark, text)


def fold(text: str) -> str:
    """Lowercase and strip accents, so 'Éléments' and 'elements' meet."""
    text = unicodedata.normalize("NFKD", text.lower().replace("’", "'"))
    return "".join(c for c in text if not unicodedata.combining(c))


_STOP = {lang: {fold(w) for w in words} for lang, words in _STOP.items()}


@lru_cache(maxsize=4)
def _stemmer(language: str):
    import Stemmer  # PyStemmer

    return Stemmer.Stemmer({"fr": "french", "en": "english"}[language])


def plain_words(text: str) -> list[str]:
    """The folded words of a text that are not stop words of either language (no stems: a
    name is matched as written, « Gallezot », "DATAR")."""
    stop = _STOP["en"] | _STOP["fr"]
    return [w for w in _TOKEN.findall(fold(text)) if w not in stop]


def analyse(text: str, language: str) -> list[str]:
    stop = _STOP["en"] | _STOP.get(language, set())
    words = [w for w in _TOKEN.findall(fold(text)) if (w not in stop and len(w) > 1) or w.isdigit()]
    return _stemmer(language).stemWords(words)


# A sentence ends at . ! ? or … followed by a space and what can start a sentence.
_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+(?=[«\"“(\[A-ZÀ-ÖØ-Þ0-9])")


def split_sentences(text: str) -> list[str]:
    parts = [s.strip() for s in _SENTENCE_END.split(text)]
    return [s for s in parts if s] or [text.strip() or text]


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence of `text`, stripped; the sentences of split_sentences."""
    spans: list[tuple[int, int]] = []
    pos = 0
    for m in [*_SENTENCE_END.finditer(text), None]:
        end = m.start() if m else len(text)
        piece = text[pos:end]
        if piece.strip():
            lead = len(piece) - len(piece.lstrip())
            spans.append((pos + lead, pos + len(piece.rstrip())))
        if m:
            pos = m.end()
    return spans or [(0, len(text))]


# --- claims of an answer -----------------------------------------------------------
LIST_NUMBER = re.compile(r"(?m)^\s*\d{1,2}[.)]\s")
_CLAIM_END = re.compile(r"[.!?](?=\s|$)|\n")
# A full stop after an initial ("Y. pestis", "M. Kearney") or a common abbreviation does not
# end a claim; cutting there would cite half a sentence.
_NOT_AN_END = re.compile(
    r"(?:^|[\s(])(?:[A-ZÀ-Þ]|St|Dr|Mr|Mrs|Ms|Mme|Mgr|Jr|Sr|Prof|av|env|etc|vs|cf|No|n°|p|pp|vol|"
    r"[A-Z][a-z]?\.[A-Z])$"
)
_MARKER = re.compile(r"\[\d+\]")


def claim_spans(text: str) -> list[tuple[int, int]]:
    """Spans of the claims of `text`: sentences or lines, each with its end punctuation."""
    spans, start = [], 0
    for m in _CLAIM_END.finditer(text):
        if m.group(0) == "." and _NOT_AN_END.search(text[start : m.start()]):
            continue
        spans.append((start, m.end()))
        start = m.end()
    if start < len(text):
        spans.append((start, len(text)))
    return spans


def answer_claims(answer: str) -> list[tuple[int, int]]:
    """Non-blank claim spans of an answer, list numbering ("1. ") not counted as a sentence."""
    masked = mask(answer, markers=False)
    return [(a, b) for a, b in claim_spans(masked) if masked[a:b].strip()]


def mask(text: str, markers: bool = True) -> str:
    """`text` with list numbering ("1. ") and citation markers blanked: offsets are kept."""
    masked = LIST_NUMBER.sub(_blank, text)
    return _MARKER.sub(_blank, masked) if markers else masked


def _blank(m: re.Match[str]) -> str:
    return " " * len(m.group(0))


_CLAIM_BREAK = re.compile(r"(?<=[.!?;:])\s+|\n+|\[\d+\]")


def last_phrase(text: str) -> str:
    """The sentence, list item or phrase that a marker placed at the end of `text` backs."""
    parts = [p for p in _CLAIM_BREAK.split(text) if p.strip()]
    return parts[-1].strip() if parts else ""


# --- what a question names ----------------------------------------------------------------
# A capitalised word after the first (an elided article cut off: "l'Olympique"): people,
# places, works, organisations. Consecutive ones make one name ("Le Petit Prince").
_QUESTION_WORD = re.compile(r"[\w’'-]+")
_ELISION = re.compile(r"^[a-zà-ÿ]{1,2}['’]", re.IGNORECASE)


def question_names(question: str, language: str) -> list[tuple[str, ...]]:
    """The names a question uses, each as its folded words without stop words, then the
    initials its words and the next ones of its clause make, marked "^" (« l'Organisation
    mondiale de la santé »: ..., ^oms), which only an all-capitals word of an article meets."""
    stop = _STOP["en"] | _STOP.get(language, set())
    names: list[tuple[list[str], int]] = []  # the name's words, and where it starts
    current: list[str] = []
    start = 0
    for i, match in enumerate(_QUESTION_WORD.finditer(question)):
        token = match.group()
        word = _ELISION.sub("", token) if i else token
        if i and word[:1].isupper():
            if not current:
                start = match.end() - len(word)
            current.append(word)
            continue
        if current:
            names.append((current, start))
            current = []
    if current:
        names.append((current, start))
    out = []
    for name, at in names:
        roman = {fold(t) for t in _TOKEN.findall(" ".join(name)) if _is_roman(t)}
        words = tuple(
            w
            for w in _TOKEN.findall(fold(" ".join(name)))
            if w not in stop and not w.isdigit() and w not in roman
        )
        if words:
            out.append(words + _initials(question[at:], stop))
    return out


# A Roman numeral written in capitals, an ordinal one too (« au XIXème siècle », "Louis
# XIV"): a date or a number, not a name an article must write (a question of the checking
# half was declined unread for « XIXème »)
_ROMAN = re.compile(
    r"(M{0,3}(?:CM|CD|D?C{0,3})(?:XC|XL|L?X{0,3})(?:IX|IV|V?I{0,3}))(?:e|er|ère|ème|eme|nd|th)?"
)


def _is_roman(token: str) -> bool:
    m = _ROMAN.fullmatch(token)
    return bool(m and m.group(1))


def _initials(clause: str, stop: set[str]) -> tuple[str, ...]:
    """ "^om", "^oms", ... for "Organisation mondiale de la santé contre ...": every acronym
    the words from here to the clause's end could have."""
    words = _TOKEN.findall(fold(re.split(r"[,;:?!.()«»\"]", clause, maxsplit=1)[0]))
    return tuple("^" + a for a in _acronyms([w for w in words if not w.isdigit()], stop))


def _acronyms(folded: list[str], stop: set[str]) -> list[str]:
    """The initials of the first 2, 3, ... 6 words of `folded` that are not stop words."""
    initials = "".join(w[0] for w in folded if w not in stop)[:6]
    return [initials[:n] for n in range(2, len(initials) + 1)]


def shown_name(name: tuple[str, ...]) -> str:
    """A name as a reason shows it: its words, not the acronyms it could have."""
    return " ".join(w for w in name if not w.startswith("^"))


def text_words(text: str) -> set[str]:
    """The folded words of a text, hyphenated ones also apart ("Saint-Denis": saint, denis),
    and the initials of each run of words that starts with a capital, stop words skipped,
    marked with "=" ("l'Organisation des Nations unies": =on, =onu), so that an acronym of
    the question meets the name the article spells out and nothing else does; and each
    all-capitals word again, marked "^" ("l'OMS": ^oms), for the reverse."""
    words = set(_TOKEN.findall(fold(text)))
    tokens = _TOKEN.findall(text)
    stop = _STOP["fr"] | _STOP["en"]
    for i, token in enumerate(tokens):
        if len(token) >= 2 and token.isupper() and token.isalpha():
            words.add("^" + fold(token))
        if token[:1].isupper():
            words.update("=" + a for a in _acronyms([fold(t) for t in tokens[i : i + 8]], stop))
    return words


def names_in(name: tuple[str, ...], words: set[str]) -> bool:
    """A text (its `text_words`) names `name` when it holds one of its words, or spells out
    an acronym of it, or writes the acronym of its words ("^oms"), or holds the word spelled
    within one letter (a typo in the question: "Hegwige") or, from 6 letters, with another
    ending ("Marseille" / "Marseillais": all but the last 3 letters, at least 5, in common),
    or, from 5 letters, the word and more ("Maroc" / « marocain »)."""
    return any(_word_in(w, words) for w in name)


def _word_in(word: str, words: set[str]) -> bool:
    if word in words or "=" + word in words:  # "onu": "Organisation des Nations unies"
        return True
    if word.startswith("^"):  # an acronym the question's words make: exactly, or not at all
        return False
    if len(word) >= 6:
        stem = word[: max(5, len(word) - 3)]
        if any(w.startswith(stem) for w in words):
            return True
    if len(word) < 5:
        return False
    if any(w.startswith(word) for w in words):  # "Maroc": « marocain », "Paris": « parisien »
        return True
    # a typo is a word's, never an acronym's ("=onu" is not one letter from "aonu")
    return any(
        abs(len(w) - len(word)) <= 1 and not w.startswith("=") and _one_edit(word, w) for w in words
    )


def _one_edit(a: str, b: str) -> bool:
    if len(a) == len(b):
        return sum(x != y for x, y in zip(a, b, strict=True)) <= 1
    if len(a) > len(b):
        a, b = b, a
    i = 0
    while i < len(a) and a[i] == b[i]:
        i += 1
    return a[i:] == b[i + 1 :]
