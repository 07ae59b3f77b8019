"""A saved or fetched article page (HTML) -> its body and metadata, with trafilatura.

Options chosen by measurement (`python -m evaluation.bench.news_pages [--set NAME=false]`):
on the 19 labelled news pages of the shared data, and on 930 held-out pages of trafilatura's
own benchmark (not in the repo). Shares: body snippets found / boilerplate snippets absent /
labelled dates on the same day.

| option (changed alone)      | 19 news pages         | 930 held-out pages    |
|-----------------------------|-----------------------|-----------------------|
| chosen (below)              | 0.964 / 1.000 / 0.933 | 0.946 / 0.910 / 0.866 |
| clean=False                 | 0.982 / 0.845 / 0.933 | 0.947 / 0.907 / 0.866 |
| favor_precision=True        | 0.946 / 1.000 / 0.933 | 0.919 / 0.930 / 0.862 |
| favor_recall=True           | 0.964 / 0.966 / 0.933 | 0.943 / 0.899 / 0.868 |
| fast=True                   | 0.964 / 1.000 / 0.933 | 0.932 / 0.912 / 0.865 |
| include_tables=False        | 0.964 / 1.000 / 0.933 | 0.935 / 0.912 / 0.866 |
| extensive_date_search=False | 0.964 / 1.000 / 0.933 | 0.946 / 0.910 / 0.826 |
| original_date=False         | 0.964 / 1.000 / 0.867 | 0.946 / 0.910 / 0.792 |

- balanced mode: `favor_precision` drops words inside sentences (runs of emphasis or links)
  and whole paragraphs; `favor_recall` keeps cookie banners and related links; `fast` (no
  readability/jusText fallback) loses body text on held-out pages;
- comments off (readers' comments are not the article); tables kept (they hold figures);
- htmldate: the original publication date, extensive search (without it 40 held-out pages
  get no date), with the time and zone when the page gives them (same days either way);
- `boilerplate.clean_paragraphs` then removes what trafilatura keeps of cookie banners,
  paywall prompts, newsletter boxes, "read also" links, closing copyright / photo-credit lines,
  look-alike-letter advertising, and the title repeated at the top of the body (the title is
  stored apart; the labels of 4 pages count it as body text, hence clean=False's higher
  first share).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from urllib.parse import urlsplit

import trafilatura
from lxml.etree import _Element
from trafilatura.utils import load_html

from ingest.formats.base import Extracted, FormatError
from ingest.formats.boilerplate import clean_paragraphs
from ingest.formats.dates import read_date
from ingest.formats.markup import body_paragraphs, decode_html

_TITLE_SEPARATORS = (" - ", " | ", " – ", " — ", " :: ", " « ")
_DATE_FORMAT = "%Y-%m-%dT%H:%M:%S%z"
# what htmldate writes in _DATE_FORMAT for a page that gives a day only
_DAY_ONLY = "T00:00:00"


@dataclass(frozen=True)
class HtmlOptions:
    """trafilatura's options (see the module's docstring for what each one changed)."""

    favor_precision: bool = False
    favor_recall: bool = False
    fast: bool = False  # skip trafilatura's fallback extractors (readability, jusText)
    include_tables: bool = True
    clean: bool = True  # boilerplate.clean_paragraphs on the extracted paragraphs
    original_date: bool = True  # htmldate: the publication date, not the last modification
    extensive_date_search: bool = True  # htmldate: also look at the page's free text
    date_with_time: bool = True  # htmldate: the time and zone too, when the page gives them


HTML_OPTIONS = HtmlOptions()


# An article has at least one sentence: a line of this many words (or, in scripts written
# without spaces, of this many characters). What trafilatura's fallbacks return from a page
# without one is menus and link lists ("Accueil\nSport").
MIN_SENTENCE_WORDS = 8
MIN_SENTENCE_CHARS = 30


def _has_prose(paragraphs: list[str]) -> bool:
    for line in (line for p in paragraphs for line in p.split("\n")):
        words = len(line.split())
        if words >= MIN_SENTENCE_WORDS or (words < 3 and len(line) >= MIN_SENTENCE_CHARS):
            return True
    return False


def _domain(url: str) -> str:
    host = urlsplit(url).hostname or ""
    return host.removeprefix("www.")


def _outlet(sitename: str | None, url: str) -> str:
    sitename = (sitename or "").strip()
    if sitename.startswith(("http://", "https://")):
        return _domain(sitename)
    return sitename or _domain(url)


def _site_names(outlet: str, url: str) -> list[str]:
    """How a site names itself at the end of its titles: its name, its domain, the domain's
    first label ("DW.COM" -> "dw", "Gala.fr" -> "gala")."""
    names = {outlet.lower(), _domain(url).lower()}
    names |= {n.split(".")[0] for n in names if "." in n}
    return sorted(filter(None, names), key=len, reverse=True)


def _title(title: str | None, outlet: str, url: str) -> str:
    """The page title without the site's name that pages append ("Title - Site", "Title | DW |
    23.05.2011"): cut at a separator followed by a name of the site and then by the end of
    the title or another separator."""
    title = " ".join((title or "").split())
    low = title.lower()
    for name in _site_names(outlet, url):
        for sep in _TITLE_SEPARATORS:
            at = low.find(sep + name)
            rest = low[at + len(sep) + len(name) :] if at > 0 else None
            if rest is not None and (not rest or rest.startswith(_TITLE_SEPARATORS)):
                return title[:at].strip()
    return title


_BYLINE = re.compile(r"^(?:par|by)\s+", re.IGNORECASE)


def _authors(author: str | None) -> tuple[str, ...]:
    """trafilatura's "A; B" as ("A", "B"), without a leading "Par" / "By"."""
    names = (_BYLINE.sub("", a.strip()) for a in (author or "").split(";"))
    return tuple(dict.fromkeys(n for n in names if n))


def _keywords(values: list[str]) -> tuple[str, ...]:
    """Categories and tags, split where a page joined several with commas, without repeats."""
    words = (" ".join(w.split()) for value in values for w in value.split(","))
    return tuple(dict.fromkeys(w for w in words if w))


def _language(tree: _Element) -> str:
    """The language the page declares: <html lang>, Content-Language, og:locale."""
    values = [tree.get("lang") or tree.get("{http://www.w3.org/XML/1998/namespace}lang") or ""]
    values += tree.xpath(
        "//meta[@http-equiv='content-language' or @http-equiv='Content-Language']/@content"
    )
    values += tree.xpath("//meta[@property='og:locale']/@content")
    for value in values:
        code = value.strip().replace("_", "-").split("-")[0].lower()
        if code.isalpha() and len(code) in (2, 3):
            return code
    return ""


def extract_html(
    raw: bytes,
    source: str,
    url: str = "",
    *,
    encoding: str = "",
    options: HtmlOptions = HTML_OPTIONS,
) -> Extracted:
    """The article of a page: body paragraphs without boilerplate, title, original publication
    date (htmldate), outlet, authors, language. `encoding` is the charset of an HTTP header."""
    text = decode_html(raw, encoding)
    tree = load_html(text)
    if tree is None:
        raise FormatError(f"{source}: not an HTML page")
    language = _language(tree)
    doc = trafilatura.bare_extraction(
        tree,
        url=url or None,
        with_metadata=True,
        include_comments=False,
        include_tables=options.include_tables,
        include_images=False,
        include_links=False,
        favor_precision=options.favor_precision,
        favor_recall=options.favor_recall,
        fast=options.fast,
        date_extraction_params={
            "original_date": options.original_date,
            "extensive_search": options.extensive_date_search,
            # a page cannot be published after today; htmldate needs the bound as a string
            "max_date": date.today().isoformat(),
            "outputformat": _DATE_FORMAT if options.date_with_time else "%Y-%m-%d",
        },
    )
    paragraphs = body_paragraphs(doc.body) if doc is not None else []
    page_url = (doc.url if doc is not None else "") or url
    outlet = _outlet(doc.sitename if doc is not None else "", page_url)
    title = _title(doc.title if doc is not None else "", outlet, page_url)
    if options.clean:
        paragraphs = clean_paragraphs(paragraphs, title)
    if doc is None or not _has_prose(paragraphs):
        raise FormatError(f"{source}: no article text found")
    warnings: list[str] = []
    page_date = doc.date or ""
    if page_date.endswith(_DAY_ONLY):
        page_date = page_date.removesuffix(_DAY_ONLY)
    reading = read_date(page_date, f"{source}: the page's date")
    if reading.warning:
        warnings.append(reading.warning)
    elif reading.value is None:
        warnings.append(f"{source}: no publication date found on the page")
    published: datetime | None = reading.value
    precision = reading.precision
    if published is not None and precision == "second" and not published.second:
        precision = "minute"  # htmldate writes seconds even when the page gives none
    return Extracted(
        title=title,
        text="\n\n".join(paragraphs),
        published=published,
        published_precision=precision,
        outlet=outlet,
        authors=_authors(doc.author),
        url=page_url,
        language=language,
        keywords=_keywords([*(doc.categories or []), *(doc.tags or [])]),
        warnings=tuple(warnings),
    )
