"""Time in a question, French and English: a date window to search in, or a wish for recent news.

`read_time(question, language, now)` finds the question's time expression by rules (no model,
no network) and does the date arithmetic relative to `now`, the request's reference time:

- absolute: a year ("en 2020", "in 1915", "de 1958": a 4-digit year 1000-2999 after a
  preposition, or ending the question; not one followed by a counted noun, "de 1500 mètres",
  nor one before Christ), a decade ("les années 1980", "the 1980s"), a month and year, a month
  alone after a preposition (the last such month up to now, this one included), a day and month
  with or without year (the last such day up to now), "début / mi- / fin mars", "early / mid /
  late March";
- ranges and bounds: "entre mars et mai 2020", "du 1er au 29 février 2020", "from March to
  May", "between 2019 and 2021"; since / depuis / à partir de / dès, after / après, before /
  avant, until / jusqu'à; "from March" alone is March;
- relative: today / aujourd'hui (only with a word about news or events: "aujourd'hui" alone
  mostly means "nowadays" in questions, « Comment s'appelle aujourd'hui … »), ce matin, ce soir,
  yesterday / hier, avant-hier, this / last week (weeks start on Monday), month, year, "mars
  dernier" / "last March", "lundi dernier" / "last Monday", "the last N days / weeks / months /
  years" (« ces N derniers jours », « depuis N mois »: from `now` minus N units to `now`), "the
  last few days" / « ces derniers jours » (7 days), weeks (28 days), months (3 months), "N days
  ago" / « il y a N jours » (that day; N weeks ago: that week; months: that month; years: that
  year);
- recency, no window: latest, most recent, newest, recent news, recently, lately, « dernières
  nouvelles », « les plus récents », « récemment », « ces dernières années » / "in recent years"
  (too vague, and too common in encyclopaedic questions, to filter on).

Ambiguity: French writes months in lower case, so a capitalised « Mars » or « Avril » after the
question's first word is a name (the planet, a person), not a month; English writes them
capitalised, so lower-case "may" or "march" is a verb; "May" alone needs a preposition ("in
May") or a day or year. The first window expression of the question wins; a recency
expression next to it is part of the same expression. Only the question's language's words are
read ("fr", else English).
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from unicodedata import normalize

# --- what is found --------------------------------------------------------------------------


@dataclass(frozen=True)
class Window:
    """Days from `after` to `before`, both included; None: open on that side."""

    after: date | None
    before: date | None

    def __post_init__(self) -> None:
        if self.after is None and self.before is None:
            raise ValueError("a window needs at least one bound")
        if self.after and self.before and self.after > self.before:
            raise ValueError(f"a window cannot end ({self.before}) before it starts ({self.after})")

    def holds(self, day: date) -> bool:
        return (self.after is None or day >= self.after) and (
            self.before is None or day <= self.before
        )

    def day_numbers(self) -> tuple[int | None, int | None]:
        """The bounds as YYYYMMDD integers, the form passages' `published_day` is stored in."""
        return _day_number(self.after), _day_number(self.before)

    def where(self, field: str = "published_day") -> dict:
        """A Chroma `where` filter keeping the passages published inside the window."""
        low, high = self.day_numbers()
        terms = [{field: {"$gte": low}}] if low is not None else []
        terms += [{field: {"$lte": high}}] if high is not None else []
        return terms[0] if len(terms) == 1 else {"$and": terms}

    def describe(self, language: str) -> str:
        """The window in words, in `language` ("fr", else English): « en février 2020 »,
        "from 1 to 12 February 2020", « depuis le 1er mars 2026 », "on 23 October 2020"."""
        fr = language == "fr"
        a, b = self.after, self.before
        if a is None:
            assert b is not None
            return f"jusqu’au {_day(b, True)}" if fr else f"until {_day(b, False)}"
        if b is None:
            return f"depuis le {_day(a, True)}" if fr else f"since {_day(a, False)}"
        if a == b:
            return f"le {_day(a, True)}" if fr else f"on {_day(a, False)}"
        whole_months = a.day == 1 and (b + timedelta(days=1)).day == 1
        if whole_months and (a.month, b.month) == (1, 12):  # whole years: « en 2020 »
            years = f"{a.year}" if a.year == b.year else None
            if years:
                return f"en {years}" if fr else f"in {years}"
            return f"de {a.year} à {b.year}" if fr else f"from {a.year} to {b.year}"
        if whole_months and (a.year, a.month) == (b.year, b.month):  # « en février 2020 »
            month = f"{_month_name(a.month, fr)} {a.year}"
            return f"en {month}" if fr else f"in {month}"
        if (a.year, a.month) == (b.year, b.month):
            first = _day_of_month(a.day, fr)
        elif a.year == b.year:
            first = f"{_day_of_month(a.day, fr)} {_month_name(a.month, fr)}"
        else:
            first = _day(a, fr)
        return f"du {first} au {_day(b, True)}" if fr else f"from {first} to {_day(b, False)}"


@dataclass(frozen=True)
class TimeAsk:
    window: Window | None  # the days the question asks about; None: no window
    recency: bool  # the question wants the most recent articles first
    expression: str  # the words that said so, as written ("" when none)
    span: tuple[int, int] | None  # where they are in the question

    @property
    def found(self) -> bool:
        return self.window is not None or self.recency


NO_TIME = TimeAsk(None, False, "", None)


def read_time(question: str, language: str, now: datetime | date) -> TimeAsk:
    """The time the question asks about, relative to `now` (the request's reference time)."""
    today = now.date() if isinstance(now, datetime) else now
    text = question.replace("’", "'").replace("\u00a0", " ").replace("\u202f", " ")
    rules = _FR_RULES if language == "fr" else _EN_RULES
    found: list[tuple[int, int, Window | None, bool]] = []
    for pattern, read in rules:
        for m in pattern.finditer(text):
            result = read(m, today, text)
            if result is not None:
                found.append((m.start("x"), m.end("x"), *result))
    # longest first, then leftmost; an expression inside a longer one is part of it
    found.sort(key=lambda f: (f[0] - f[1], f[0]))
    kept: list[tuple[int, int, Window | None, bool]] = []
    for f in found:
        if all(f[1] <= k[0] or f[0] >= k[1] for k in kept):
            kept.append(f)
    kept.sort(key=lambda k: k[0])
    windows = [k for k in kept if k[2] is not None]
    recent = [k for k in kept if k[3]]
    if not windows and not recent:
        return NO_TIME
    main = windows[0] if windows else recent[0]
    start, end = main[0], main[1]
    for r in recent:  # "les dernières nouvelles de la semaine dernière": one expression
        if r is not main and _only_joining(text[min(end, r[1]) : max(start, r[0])]):
            start, end = min(start, r[0]), max(end, r[1])
    return TimeAsk(main[2], bool(recent), question[start:end], (start, end))


def strip_time(question: str, ask: TimeAsk) -> str:
    """The question without its time expression: what to search for."""
    if ask.span is None:
        return question
    a, b = ask.span
    left, right = question[:a].rstrip(), question[b:]
    if left and right[:1].isalnum():
        right = " " + right
    rest = re.sub(r"^[\s,;:]+", "", (left + right).strip())
    rest = re.sub(r"\s*[,;:]+(\s*[?!.]?\s*)$", r"\1", rest)  # "..., la semaine dernière ?"
    return rest if rest.strip(" ?!.") else question


# --- date arithmetic --------------------------------------------------------------------------


def _day_number(d: date | None) -> int | None:
    return None if d is None else d.year * 10000 + d.month * 100 + d.day


def _month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def _add_months(d: date, months: int) -> date:
    y, m = divmod(d.month - 1 + months, 12)
    year, month = d.year + y, m + 1
    return date(year, month, min(d.day, calendar.monthrange(year, month)[1]))


def _month(year: int, month: int) -> Window:
    return Window(date(year, month, 1), _month_end(year, month))


def _year(year: int) -> Window:
    return Window(date(year, 1, 1), date(year, 12, 31))


def _monday(d: date) -> date:
    return d - timedelta(days=d.weekday())


def _last_month_named(month: int, today: date, strictly_before: bool = False) -> int:
    """The year of the last `month` that has begun by `today` (before this month when
    `strictly_before`: "mars dernier" said in March is last year's)."""
    if month < today.month or (month == today.month and not strictly_before):
        return today.year
    return today.year - 1


def _last_day_named(day: int, month: int, today: date) -> date | None:
    """The last `day` `month` up to `today` (a 29 February: the last leap year's)."""
    for year in range(today.year, today.year - 9, -1):
        try:
            d = date(year, month, day)
        except ValueError:
            continue
        if d <= today:
            return d
    return None


def _ago(n: int, unit: str, today: date) -> Window | None:
    if unit == "day":
        d = today - timedelta(days=n)
        return Window(d, d)
    if unit == "week":
        start = _monday(today) - timedelta(weeks=n)
        return Window(start, start + timedelta(days=6))
    if unit == "month":
        d = _add_months(today.replace(day=1), -n)
        return _month(d.year, d.month)
    return _year(today.year - n) if n <= 100 else None


def _last(n: int, unit: str, today: date) -> Window:
    """From `today` minus n units to today (the last 3 days: 3 days ago to today)."""
    if unit in ("day", "week"):
        start = today - timedelta(days=n * (7 if unit == "week" else 1))
    else:
        start = _add_months(today, -n * (12 if unit == "year" else 1))
    return Window(start, today)


# --- describing -----------------------------------------------------------------------------

_FR_MONTH_NAMES = (
    "janvier février mars avril mai juin juillet août septembre octobre novembre décembre".split()
)
_EN_MONTH_NAMES = [calendar.month_name[i] for i in range(1, 13)]


def _month_name(month: int, fr: bool) -> str:
    return (_FR_MONTH_NAMES if fr else _EN_MONTH_NAMES)[month - 1]


def _day_of_month(day: int, fr: bool) -> str:
    return "1er" if fr and day == 1 else str(day)


def _day(d: date, fr: bool) -> str:
    return f"{_day_of_month(d.day, fr)} {_month_name(d.month, fr)} {d.year}"


def day_in_words(published: str, language: str) -> str:
    """« 14 février 2020 » / "14 February 2020" of an ISO date or time ("" when none)."""
    try:
        day = date.fromisoformat((published or "")[:10])
    except ValueError:
        return ""
    return _day(day, language == "fr")


# --- words ----------------------------------------------------------------------------------

_FR_MONTHS = {
    "janvier": 1, "fevrier": 2, "février": 2, "mars": 3, "avril": 4, "mai": 5, "juin": 6,
    "juillet": 7, "aout": 8, "août": 8, "septembre": 9, "octobre": 10, "novembre": 11,
    "decembre": 12, "décembre": 12,
}  # fmt: skip
_EN_MONTHS = {name.lower(): i for i, name in enumerate(_EN_MONTH_NAMES, 1)} | {
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "jun": 6, "jul": 7, "aug": 8, "sep": 9, "sept": 9,
    "oct": 10, "nov": 11, "dec": 12,
}  # fmt: skip
_FR_NUMBERS = {
    "un": 1, "une": 1, "deux": 2, "trois": 3, "quatre": 4, "cinq": 5, "six": 6, "sept": 7,
    "huit": 8, "neuf": 9, "dix": 10, "onze": 11, "douze": 12, "quinze": 15, "vingt": 20,
    "trente": 30,
}  # fmt: skip
_EN_NUMBERS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "fifteen": 15, "twenty": 20,
    "thirty": 30,
}  # fmt: skip
_FR_UNITS = {
    "jour": "day", "jours": "day", "semaine": "week", "semaines": "week", "mois": "month",
    "an": "year", "ans": "year", "annee": "year", "annees": "year", "année": "year",
    "années": "year",
}  # fmt: skip
_EN_UNITS = {
    "day": "day", "days": "day", "week": "week", "weeks": "week", "month": "month",
    "months": "month", "year": "year", "years": "year",
}  # fmt: skip
_FR_WEEKDAYS = "lundi mardi mercredi jeudi vendredi samedi dimanche".split()
_EN_WEEKDAYS = "monday tuesday wednesday thursday friday saturday sunday".split()
# a few days, weeks, months: what "ces derniers jours" / "the past few weeks" stand for
_FEW = {"day": 7, "week": 4, "month": 3}

# Words that may follow a year without making it a count ("en 2020 la France", "in 1915 and").
_AFTER_YEAR = set(
    "a à au aux avec ce cet cette dans de des du et en est il elle ils elles la le les lors "
    "mais ne on ont ou où par pendant pour puis quand que quel quelle qui s sa se son sur un une "
    "a an and as at before but by did during for from had has have he how in is it its of on "
    "or she since that the their then there they this to was were what when where which who "
    "why with after avant après apres jusqu until about against among into under over between "
    "through up off out so because if while ago compared versus vs contre entre sous vers chez "
    "selon si alors comme lorsque puisque ainsi aussi donc encore déjà deja".split()
)

_D = r"(?P<d{s}>[0-3]?\d)(?:er|re|e|st|nd|rd|th)?"
_Y = r"(?P<y{s}>[12]\d{{3}})(?![\d,.]\d)"
_FR_M = (
    r"(?P<m{s}>janvier|f[ée]vrier|mars|avril|mai|juin|juillet|ao[uû]t|septembre|octobre"
    r"|novembre|d[ée]cembre)(?!\w)"
)
_EN_M = (
    r"(?P<m{s}>January|February|March|April|May|June|July|August|September|October|November"
    r"|December|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept|Sep|Oct|Nov|Dec)(?!\w)\.?"
)


def _fr_point(s: str, bare_day: bool = False) -> str:
    """A day, a month or a year in French, named groups suffixed `s`."""
    d, m, y = _D.format(s=s), _FR_M.format(s=s), _Y.format(s=s)
    part = rf"(?:(?:{d}\s+)?{m}(?:\s+{y})?|(?:l'an(?:n[ée]e)?\s+)?{_Y.format(s=s + 'z')})"
    if bare_day:
        part = rf"(?:{part}|{_D.format(s=s + 'b')})"
    return part


def _en_point(s: str, bare_day: bool = False) -> str:
    m, m2 = _EN_M.format(s=s), _EN_M.format(s=s + "m")
    d, d2, d3 = _D.format(s=s), _D.format(s=s + "m"), _D.format(s=s + "b")
    y, y2 = _Y.format(s=s), _Y.format(s=s + "m")
    part = (
        rf"(?:{m}(?:\s+{d}(?![\d:]))?(?:,?\s+{y})?"
        rf"|(?:the\s+)?{d2}\s+(?:of\s+)?{m2}(?:,?\s+{y2})?"
        rf"|(?:the\s+year\s+)?{_Y.format(s=s + 'z')})"
    )
    if bare_day:
        part = rf"(?:{part}|(?:the\s+)?{d3})"
    return part


@dataclass(frozen=True)
class _Point:
    """A day, month or year as written; missing parts come from the other end of a range or
    from `today`."""

    day: int | None
    month: int | None
    year: int | None
    start: int  # where it starts and ends in the text
    end: int


def _point(m: re.Match[str], s: str, months: dict[str, int]) -> _Point | None:
    groups = {k: v for k, v in m.groupdict().items() if v is not None and k[1:].startswith(s)}

    def get(kind: str) -> str | None:
        for suffix in ("", "m", "z", "b"):
            if f"{kind}{s}{suffix}" in groups:
                return groups[f"{kind}{s}{suffix}"]
        return None

    day, month, year = get("d"), get("m"), get("y")
    if day is None and month is None and year is None:
        return None
    where = [m.span(k) for k in groups]
    month_number = None
    if month is not None:
        key = normalize("NFC", month.lower().rstrip("."))
        month_number = months.get(key)
        if month_number is None:
            return None
    return _Point(
        int(day) if day else None,
        month_number,
        int(year) if year else None,
        min(a for a, _ in where),
        max(b for _, b in where),
    )


def _resolve(p: _Point, today: date, fill: _Point | None = None) -> Window | None:
    """The days a point names; `fill` lends a missing month and year (the first end of "du
    1er au 29 février 2020")."""
    day, month, year = p.day, p.month, p.year
    if fill is not None:
        if month is None and day is not None:
            month = fill.month
        if year is None and fill.year is not None and (month is not None or day is not None):
            year = fill.year
    try:
        if month is None:
            if day is not None or year is None:
                return None
            return _year(year)
        if year is None:
            if day is None:
                return _month(_last_month_named(month, today), month)
            d = _last_day_named(day, month, today)
            return Window(d, d) if d else None
        if day is None:
            return _month(year, month)
        d = date(year, month, day)
        return Window(d, d)
    except ValueError:  # 31 avril
        return None


def _mars_is_a_name(text: str, m: re.Match[str]) -> bool:
    """French months are written in lower case: a capitalised one after the question's first
    word is a name (« la planète Mars », « Avril Lavigne »)."""
    for k, v in m.groupdict().items():
        if not (v and k.startswith("m") and v[:1].isupper()):
            continue
        before = text[: m.start(k)]
        if before.strip() and not re.search(r"\d(?:er)?\s*$", before):  # "le 1er Mai" is a day
            return True
    return False


def _en_month_is_a_word(text: str, m: re.Match[str]) -> bool:
    """English months are capitalised; "may" and "march" in lower case are verbs."""
    return any(v and k.startswith("m") and not v[:1].isupper() for k, v in m.groupdict().items())


def _count_after(text: str, end: int) -> bool:
    """A year followed by a lower-case noun is a count: « de 1500 mètres », "of 2000 men"."""
    nxt = re.match(r"\s+([^\W\d_]+)", text[end:])
    if nxt is None:
        return False
    word = nxt.group(1)
    return word[:1].islower() and word.lower() not in _AFTER_YEAR


_OF = re.compile(r"\s+(?:de|du|des|d'|of)\b", re.I)
# before Christ, or a year of another calendar (« l'année 1442 du calendrier hégirien »)
_BC = re.compile(
    r"\s*(?:av\.?|avant)\s*(?:J\.?-?C|notre\s+[èe]re)|\s*(?:BC|BCE|B\.C\.|AH)\b"
    r"|\s*(?:du|of\s+the|in\s+the)\s+(?:calendrier\s+)?(?:h[ée]girien|musulman|h[ée]bra[iï]que|"
    r"julien|hijri|islamic|hebrew|julian)",
    re.I,
)


def _year_guard(text: str, m: re.Match[str]) -> bool:
    """True when the expression's last year is a count or before Christ."""
    return _count_after(text, m.end("x")) or bool(_BC.match(text, m.end("x")))


# --- the rules --------------------------------------------------------------------------------

Read = Callable[[re.Match[str], date, str], tuple[Window | None, bool] | None]
_F = re.IGNORECASE


def _guarded(fr: bool, text: str, m: re.Match[str]) -> bool:
    if re.match(r"\s*\d", text[m.end("x") :]):
        return True  # a number the expression did not read: « en janvier 52 »
    if fr and _mars_is_a_name(text, m):
        return True
    if not fr and _en_month_is_a_word(text, m):
        return True
    return _year_guard(text, m)


def _range(fr: bool) -> Read:
    months = _FR_MONTHS if fr else _EN_MONTHS

    def read(m: re.Match[str], today: date, text: str) -> tuple[Window | None, bool] | None:
        if _guarded(fr, text, m):
            return None
        first, last = _point(m, "1", months), _point(m, "2", months)
        if first is None or last is None:
            return None
        if last.year is None and first.year is not None and last.month is not None:
            last = _with_year(last, first.year)  # "du 3 mars 2020 au 5 avril"
        end = _resolve(last, today)
        begin = _resolve(first, today, fill=last)
        if begin is None or end is None or begin.after is None or end.before is None:
            return None
        if begin.after > end.before:
            if first.year is None and last.year is not None and begin.after.year == last.year:
                # "from November to February 2020": November 2019
                begin = _resolve(_with_year(first, last.year - 1), today)
                if begin is None or begin.after is None:
                    return None
            else:
                return None
        return Window(begin.after, end.before), False

    return read


def _with_year(p: _Point, year: int) -> _Point:
    return _Point(p.day, p.month, year, p.start, p.end)


def _bound(fr: bool) -> Read:
    months = _FR_MONTHS if fr else _EN_MONTHS

    def read(m: re.Match[str], today: date, text: str) -> tuple[Window | None, bool] | None:
        if _guarded(fr, text, m):
            return None
        p = _point(m, "1", months)
        if p is None:
            return None
        if p.month is None and p.year is None:
            return None
        w = _resolve(p, today)
        if w is None or w.after is None or w.before is None:
            return None
        word = m.group("w").lower()
        if word.startswith(("avant", "before", "prior")):
            return Window(None, w.after - timedelta(days=1)), False
        if word.startswith(("jusqu", "until", "till", "up to", "through", "by")):
            return Window(None, w.before), False
        if word.startswith(("apr", "after")):
            return Window(w.before + timedelta(days=1), None), False
        return Window(w.after, None), False

    return read


def _at(fr: bool) -> Read:
    """A day, month, year or part of a month, with the preposition that introduces it."""
    months = _FR_MONTHS if fr else _EN_MONTHS

    def read(m: re.Match[str], today: date, text: str) -> tuple[Window | None, bool] | None:
        if _guarded(fr, text, m):
            return None
        p = _point(m, "1", months)
        if p is None or (p.month is None and p.year is None):
            return None
        lead = (m.group("w") or "").strip().lower()
        if p.day is not None and p.year is None and lead in ("du", "de", "d'", "of"):
            return None  # « la bataille du 16 août »: a named day, not one of the last year
        if p.day is None and p.year is None and not lead:
            return None  # a month alone needs its preposition: "en mai", "in May"
        ends = re.fullmatch(r"\s*[?.!]?\s*", text[m.end("x") :])
        if p.year is not None and p.month is None and not lead and not ends:
            return None  # a bare year counts only with a preposition or ending the question
        w = _resolve(p, today)
        if w is None:
            return None
        part = (m.group("part") or "").lower()
        if part and p.day is None and p.month is not None:
            assert w.after is not None and w.before is not None
            if part.startswith(("d", "early")):
                w = Window(w.after, w.after + timedelta(days=9))
            elif part.startswith(("mi", "mid")):
                w = Window(w.after + timedelta(days=10), w.after + timedelta(days=19))
            else:
                w = Window(w.after + timedelta(days=20), w.before)
        return w, False

    return read


def _fixed(make: Callable[[date], Window]) -> Read:
    def read(m: re.Match[str], today: date, text: str) -> tuple[Window | None, bool] | None:
        return make(today), False

    return read


def _count(word: str, numbers: dict[str, int]) -> int | None:
    word = word.lower()
    return int(word) if word.isdigit() else numbers.get(word)


def _last_n(fr: bool) -> Read:
    numbers, units = (_FR_NUMBERS, _FR_UNITS) if fr else (_EN_NUMBERS, _EN_UNITS)

    def read(m: re.Match[str], today: date, text: str) -> tuple[Window | None, bool] | None:
        unit = units.get(normalize("NFC", m.group("u").lower()))
        if unit is None or _OF.match(text, m.end("x")):
            return None  # "les trois derniers mois de sa vie": not counted back from now
        n_word = m.groupdict().get("n")
        if n_word is None:
            if unit == "year":
                return None, True  # "ces dernières années": recent, not a window
            return _last(_FEW[unit], unit, today), False
        n = _count(n_word, numbers)
        if n is None or n == 0 or n > 400:
            return None
        return _last(n, unit, today), False

    return read


def _ago_rule(fr: bool) -> Read:
    numbers, units = (_FR_NUMBERS, _FR_UNITS) if fr else (_EN_NUMBERS, _EN_UNITS)

    def read(m: re.Match[str], today: date, text: str) -> tuple[Window | None, bool] | None:
        n = _count(m.group("n"), numbers)
        unit = units.get(normalize("NFC", m.group("u").lower()))
        if n is None or unit is None:
            return None
        w = _ago(n, unit, today)
        return (w, False) if w else None

    return read


def _weekday(names: list[str]) -> Read:
    def read(m: re.Match[str], today: date, text: str) -> tuple[Window | None, bool] | None:
        wanted = names.index(m.group("wd").lower())
        back = (today.weekday() - wanted) % 7 or 7
        d = today - timedelta(days=back)
        return Window(d, d), False

    return read


def _month_last(fr: bool) -> Read:
    months = _FR_MONTHS if fr else _EN_MONTHS

    def read(m: re.Match[str], today: date, text: str) -> tuple[Window | None, bool] | None:
        if _guarded(fr, text, m):
            return None
        p = _point(m, "1", months)
        if p is None or p.month is None:
            return None
        return _month(_last_month_named(p.month, today, strictly_before=True), p.month), False

    return read


def _decade(m: re.Match[str], today: date, text: str) -> tuple[Window | None, bool] | None:
    """ "les années 1980", "the 1980s"; two digits ("les années 80", "the 20s") are the 1900s'."""
    century = int(m.group("c") or 19)
    start = century * 100 + int(m.group("dd")) * 10
    last = start + 9
    if m.group("c") and m.group("dd") == "0" and m.group("x").lower().endswith("s"):
        last = start + 99  # "the 1700s"
    word = (m.group("w") or "").lower()
    if word in ("avant", "before"):
        return Window(None, date(start - 1, 12, 31)), False
    if word in ("depuis", "since"):
        return Window(date(start, 1, 1), None), False
    if word:
        return Window(date(last + 1, 1, 1), None), False
    return Window(date(start, 1, 1), date(last, 12, 31)), False


def _today(m: re.Match[str], today: date, text: str) -> tuple[Window | None, bool] | None:
    """ "today" / « aujourd'hui » mostly means "nowadays" in a question (« Comment s'appelle
    aujourd'hui la ville ? »): a window only next to a word about news or events."""
    if not _NEWS_WORDS.search(text) and not m.group("own"):
        return None
    return Window(today, today), False


def _recent(m: re.Match[str], today: date, text: str) -> tuple[Window | None, bool] | None:
    return None, True


_NEWS_WORDS = re.compile(
    r"\b(?:news|nouvelles?|actualit[ée]s?|infos?|articles?|journa(?:l|ux)|presse|m[ée]dias?|"
    r"happen(?:ed|ing)?|pass[ée]e?|annonc\w*|report\w*|said|say|dit|d[ée]clar\w*|publi\w*|"
    r"headlines?|titres?|[ée]v[ée]nements?|events?)\b",
    re.I,
)

_FR_PREP = (
    r"(?:en|dans|pendant|durant|courant|au\s+cours\s+d[eu']\s*|au\s+mois\s+d[e']\s*|au|aux|"
    r"le|la|l'|de|du|d'|vers|à|a|lors\s+d[eu']\s*|pour)"
)
_EN_PREP = r"(?:in|on|during|throughout|of|from|for|around|circa|at)"
_FR_PART = r"(?P<part>d[ée]but|mi-|fin)(?:\s+d[e']|\s*)"
_EN_PART = r"(?P<part>early|mid-?|late)"
_FR_NEWS = (
    r"(?:nouvelles|informations|infos|actualit[ée]s?|news|nouveaut[ée]s|d[ée]veloppements|"
    r"[ée]v[ée]nements|articles?|rebondissements|annonces|mises?\s+[àa]\s+jour|d[ée]p[êe]ches)"
)
_EN_NEWS = (
    r"(?:news|articles?|reports?|developments?|updates?|information|stories|story|events|"
    r"headlines|figures|data|coverage)"
)
_N_FR = rf"(?P<n>\d{{1,3}}|{'|'.join(_FR_NUMBERS)})"
_N_EN = rf"(?P<n>\d{{1,3}}|{'|'.join(_EN_NUMBERS)})"
_U_FR = r"(?P<u>jours?|semaines?|mois|ann[ée]es?|ans?)\b"
_U_EN = r"(?P<u>days?|weeks?|months?|years?)\b"


_SEASON = r"\b(?P<y1>[12]\d{3})\s*[-–/]\s*(?P<y2>[12]\d{3}|\d{2})(?![\d,.]\d)"


def _seasons(m: re.Match[str], today: date, text: str) -> tuple[Window | None, bool] | None:
    """ "2008-2009", "1620-21": both years."""
    if _year_guard(text, m):
        return None
    first, last = int(m.group("y1")), m.group("y2")
    end = int(last) if len(last) == 4 else first // 100 * 100 + int(last)
    if not first < end <= first + 20:
        return None
    return Window(date(first, 1, 1), date(end, 12, 31)), False


def _yesterday(n: int) -> Callable[[date], Window]:
    return lambda t: Window(t - timedelta(days=n), t - timedelta(days=n))


def _this_week(t: date) -> Window:
    return Window(_monday(t), t)


def _last_week(t: date) -> Window:
    return Window(_monday(t) - timedelta(days=7), _monday(t) - timedelta(days=1))


def _this_month(t: date) -> Window:
    return Window(t.replace(day=1), t)


def _last_month(t: date) -> Window:
    d = _add_months(t.replace(day=1), -1)
    return _month(d.year, d.month)


def _this_year(t: date) -> Window:
    return Window(date(t.year, 1, 1), t)


def _last_year(t: date) -> Window:
    return _year(t.year - 1)


_LAST_FR = r"(?:derni[èe]r(?:e|es|s)|pass[ée](?:e|es|s))"
_THE_FR = r"(?:le\s+|l'|la\s+)?"


def _fr_rules() -> list[tuple[str, Read]]:
    p1, p2 = _fr_point("1"), _fr_point("2")
    day1 = _fr_point("1", bare_day=True)
    return [
        (rf"(?P<x>\bentre\s+{_THE_FR}{day1}\s+et\s+{_THE_FR}{p2})", _range(True)),
        (rf"(?P<x>\bdu\s+{day1}\s+au\s+{p2})", _range(True)),
        (rf"(?P<x>\bde\s+{_THE_FR}{day1}\s+(?:à|a|au|jusqu'(?:à|au|en))\s+{_THE_FR}{p2})",
         _range(True)),
        (rf"(?P<x>(?:\b{_FR_PREP}\s+|\bla\s+saison\s+)?{_SEASON})", _seasons),
        (rf"(?P<x>\b(?P<w>depuis|d[èe]s|[àa]\s+partir\s+d[eu']|apr[èe]s|avant|jusqu'(?:à|au|en))"
         rf"\s*(?:la\s+fin\s+d[eu']\s*)?{_THE_FR}{p1})", _bound(True)),
        (rf"(?P<x>(?:\b(?P<w>{_FR_PREP})\s*)?(?:\b{_FR_PART}\s*)?\b{p1})", _at(True)),
        (r"(?P<x>\bavant-hier\b)", _fixed(_yesterday(2))),
        (r"(?P<x>\bhier\b(?:\s+(?:soir|matin|apr[èe]s-midi))?)", _fixed(_yesterday(1))),
        (r"(?P<x>\b(?:(?P<own>d')?aujourd'hui|ce\s+matin|ce\s+soir|cet\s+apr[èe]s-midi)\b)",
         _today),
        (r"(?P<x>\bcette\s+semaine\b)", _fixed(_this_week)),
        (r"(?P<x>\b(?:la\s+)?semaine\s+(?:derni[èe]re|pass[ée]e)\b)", _fixed(_last_week)),
        (r"(?P<x>\bce\s+mois(?:-ci)?\b)", _fixed(_this_month)),
        (r"(?P<x>\b(?:le\s+)?mois\s+(?:dernier|pass[ée])\b)", _fixed(_last_month)),
        (r"(?P<x>\bcette\s+ann[ée]e\b)", _fixed(_this_year)),
        (r"(?P<x>\bl'(?:an|ann[ée]e)\s+(?:derni[èe]re?|pass[ée]e?)\b)", _fixed(_last_year)),
        (rf"(?P<x>\b(?:(?:au\s+cours|lors|pendant|durant)\s+)?(?:des|les|ces)\s+{_N_FR}\s+"
         rf"{_LAST_FR}\s+{_U_FR})", _last_n(True)),
        (rf"(?P<x>\b(?:(?:au\s+cours|lors)\s+des|ces)\s+{_LAST_FR}\s+{_U_FR})", _last_n(True)),
        (rf"(?P<x>\bdepuis\s+{_N_FR}\s+{_U_FR}\b)", _last_n(True)),
        (rf"(?P<x>\bil\s+y\s+a\s+{_N_FR}\s+{_U_FR}\b)", _ago_rule(True)),
        (rf"(?P<x>\b(?P<wd>{'|'.join(_FR_WEEKDAYS)})\s+dernier\b)", _weekday(_FR_WEEKDAYS)),
        (rf"(?P<x>\b(?:en\s+)?{_FR_M.format(s='1')}\s+derniers?\b)", _month_last(True)),
        (r"(?P<x>\b(?:(?P<w>avant|depuis|apr[èe]s)\s+|(?:dans|pendant|durant)\s+)?les\s+ann[ée]es\s+(?P<c>1\d|20)?(?P<dd>\d)0\b)",
         _decade),
        (rf"(?P<x>\b(?:les?\s+|la\s+|des\s+)?derni[èe]re?s?\s+{_FR_NEWS}\b)", _recent),
        (r"(?P<x>\b(?:les?\s+|la\s+)?plus\s+r[ée]cent(?:e|es|s)?\b)", _recent),
        (rf"(?P<x>\b{_FR_NEWS}\s+r[ée]cent(?:e|es|s)\b)", _recent),
        (r"(?P<x>\br[ée]cemment\b|\bquoi\s+de\s+neuf\b|\bces\s+derniers\s+temps\b)", _recent),
    ]  # fmt: skip


def _en_rules() -> list[tuple[str, Read]]:
    p1, p2 = _en_point("1"), _en_point("2")
    day1 = _en_point("1", bare_day=True)
    within = r"(?:(?:in|over|during|for|within)\s+)?"
    return [
        (rf"(?P<x>\bbetween\s+(?:the\s+)?{day1}\s+(?:and|to)\s+(?:the\s+)?{p2})", _range(False)),
        (rf"(?P<x>\bfrom\s+(?:the\s+)?{day1}\s+(?:to|until|till|through|thru)\s+(?:the\s+)?{p2})",
         _range(False)),
        (rf"(?P<x>(?:\b{_EN_PREP}\s+(?:the\s+)?)?{_SEASON})", _seasons),
        (rf"(?P<x>\b(?P<w>since|after|before|prior\s+to|until|till|up\s+to|through|by|"
         rf"starting\s+(?:in|on|from))\s+(?:the\s+end\s+of\s+)?{p1})", _bound(False)),
        (rf"(?P<x>(?:\b(?P<w>{_EN_PREP})\s+)?(?:\b{_EN_PART}\s*)?\b{p1})", _at(False)),
        (r"(?P<x>\b(?:the\s+)?day\s+before\s+yesterday\b)", _fixed(_yesterday(2))),
        (r"(?P<x>\byesterday(?:'s)?\b)", _fixed(_yesterday(1))),
        (r"(?P<x>\b(?:today(?P<own>'s)?|tonight|this\s+(?:morning|afternoon|evening))\b)", _today),
        (r"(?P<x>\bthis\s+week(?:'s)?\b)", _fixed(_this_week)),
        (r"(?P<x>\blast\s+week(?:'s)?\b)", _fixed(_last_week)),
        (r"(?P<x>\bthis\s+month(?:'s)?\b)", _fixed(_this_month)),
        (r"(?P<x>\blast\s+month(?:'s)?\b)", _fixed(_last_month)),
        (r"(?P<x>\bthis\s+year(?:'s)?\b)", _fixed(_this_year)),
        (r"(?P<x>\blast\s+year(?:'s)?\b)", _fixed(_last_year)),
        (rf"(?P<x>\b{within}the\s+(?:last|past|previous)\s+(?P<u>week|month|year)\b)",
         _last_n_one),
        (rf"(?P<x>\b{within}(?:the\s+)?(?:last|past|previous)\s+"
         rf"(?:(?:few|couple\s+of)\s+|{_N_EN}\s+){_U_EN})", _last_n(False)),
        (rf"(?P<x>\b(?:in|over|during)\s+recent\s+{_U_EN})", _last_n(False)),
        (rf"(?P<x>\b{_N_EN}\s+{_U_EN}\s+ago\b)", _ago_rule(False)),
        (rf"(?P<x>\blast\s+(?P<wd>{'|'.join(_EN_WEEKDAYS)})\b)", _weekday(_EN_WEEKDAYS)),
        (rf"(?P<x>\b(?:in\s+)?last\s+{_EN_M.format(s='1')})", _month_last(False)),
        (r"(?P<x>\b(?:(?P<w>before|since|after)\s+|(?:in|during)\s+)?the\s+"
         r"(?P<c>1\d|20)?(?P<dd>\d)0'?s\b)", _decade),
        (rf"(?P<x>\b(?:the\s+)?(?:latest|newest|most\s+recent|freshest)\b(?:\s+{_EN_NEWS}\b)?)",
         _recent),
        (rf"(?P<x>\brecent\s+{_EN_NEWS}\b)", _recent),
        (r"(?P<x>\brecently\b|\blately\b|\bwhat(?:'s|\s+is)\s+new\b)", _recent),
    ]  # fmt: skip


def _compiled(rules: list[tuple[str, Read]]) -> list[tuple[re.Pattern[str], Read]]:
    return [(re.compile(pattern, re.IGNORECASE), read) for pattern, read in rules]


def _last_n_one(m: re.Match[str], today: date, text: str) -> tuple[Window | None, bool] | None:
    """ "the past week / month / year": the last 7 days, month, year up to today."""
    return _last(1, m.group("u").lower(), today), False


def _only_joining(gap: str) -> bool:
    return (
        not gap.strip()
        or re.fullmatch(r"\s*(?:de|du|des|d'|of|from|for|,)\s*", gap, re.I) is not None
    )


_FR_RULES = _compiled(_fr_rules())
_EN_RULES = _compiled(_en_rules())
