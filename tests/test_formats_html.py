"""ingest.formats.html: the real news pages of the shared data (aggregate goals) and small
inline pages (no text, encodings, metadata)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from evaluation.bench import news_pages
from ingest.formats.base import FormatError
from ingest.formats.boilerplate import clean_paragraphs
from ingest.formats.html import extract_html
from ingest.formats.markup import fragment_paragraphs

PAGES = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "news-pages"
PARAGRAPH = (
    "Le conseil municipal de Lyon a voté mardi soir le budget de l'année prochaine, après un "
    "débat de plus de six heures où l'opposition a dénoncé la hausse des impôts locaux."
)


def page(body: str, head: str = "<meta charset='utf-8'>", lang: str = "fr") -> str:
    return f"<!doctype html><html lang='{lang}'><head>{head}</head><body>{body}</body></html>"


@pytest.fixture(scope="module")
def scores() -> list[news_pages.PageScore]:
    if not (PAGES / "expected.json").is_file():
        pytest.skip(f"{PAGES} is absent: the real news pages are shared data, not in the repo")
    return news_pages.run(PAGES)[0]


def test_real_news_pages_meet_the_goals(scores: list[news_pages.PageScore]) -> None:
    total = news_pages.totals(scores)
    failures = [s.name for s in scores if s.with_found < s.with_total or s.error]
    assert total.pages == 19
    assert total.with_share >= 0.95, f"body snippets found {total.with_share:.3f}: {failures}"
    assert total.without_share >= 0.95, f"boilerplate absent {total.without_share:.3f}"
    assert total.same_day_share >= 0.85, f"dates on the same day {total.same_day_share:.3f}"


def test_no_article_text_is_an_error_naming_the_file() -> None:
    empty = page("<nav><a href='/'>Accueil</a></nav><footer>© Journal</footer>")
    with pytest.raises(FormatError, match=r"^page\.html: no article text found$"):
        extract_html(empty.encode(), "page.html")


def test_a_declared_charset_is_respected() -> None:
    html = page(f"<article><h1>Été</h1><p>{PARAGRAPH}</p></article>", "<meta charset='iso-8859-1'>")
    raw = html.encode("cp1252")
    assert b"\xe9" in raw  # é in one byte: not UTF-8
    article = extract_html(raw, "latin.html")
    assert "débat de plus de six heures" in article.text
    # the charset of an HTTP header wins over a page that says nothing
    bare = page(f"<p>{PARAGRAPH}</p><p>{PARAGRAPH}</p>", head="").encode("cp1252")
    assert "débat" in extract_html(bare, "h.html", encoding="windows-1252").text


def test_a_utf16_page_with_a_bom() -> None:
    html = page(f"<article><p>{PARAGRAPH}</p><p>Deuxième paragraphe.</p></article>", head="")
    article = extract_html(html.encode("utf-16"), "utf16.html")
    assert "débat de plus de six heures" in article.text


def test_metadata_paragraphs_and_boilerplate() -> None:
    head = (
        "<meta charset='utf-8'><title>Budget voté à Lyon - Le Progrès</title>"
        "<meta property='og:site_name' content='Le Progrès'>"
        "<meta name='author' content='Marie Dupont; Jean Martin'>"
        "<meta property='article:published_time' content='2020-02-14T09:30:00+01:00'>"
    )
    body = (
        "<nav><a href='/'>Accueil</a> <a href='/sport'>Sport</a></nav>"
        "<article><h1>Budget voté à Lyon</h1>"
        f"<p>{PARAGRAPH}</p><p>Le maire a défendu<br>ses choix.</p>"
        "<p>Nous utilisons des cookies pour améliorer votre expérience.</p>"
        f"<p>{PARAGRAPH.replace('Lyon', 'Villeurbanne')}</p>"
        "<p>© 2020 Le Progrès. Tous droits réservés.</p></article>"
    )
    article = extract_html(page(body, head).encode(), "lyon.html", "https://www.leprogres.fr/a")
    assert article.title == "Budget voté à Lyon"  # without " - Le Progrès"
    assert article.outlet == "Le Progrès" and article.language == "fr"
    assert article.authors == ("Marie Dupont", "Jean Martin")
    assert (
        article.published is not None and article.published.date() == datetime(2020, 2, 14).date()
    )
    paragraphs = article.text.split("\n\n")
    assert paragraphs[0] == PARAGRAPH  # the repeated title is not in the body
    assert "Le maire a défendu\nses choix." in paragraphs
    assert (
        "cookies" not in article.text and "©" not in article.text and "Accueil" not in article.text
    )


def test_outlet_falls_back_to_the_domain() -> None:
    body = f"<article><p>{PARAGRAPH}</p><p>{PARAGRAPH}</p></article>"
    article = extract_html(page(body).encode(), "x.html", "https://www.exemple-journal.fr/a/b")
    assert article.outlet == "exemple-journal.fr"
    assert article.published is None
    assert article.warnings == ("x.html: no publication date found on the page",)


def test_fragment_paragraphs() -> None:
    html = "<p>Un <b>deux</b></p><p>trois<br>quatre</p>cinq<ul><li>six</li></ul><script>x</script>"
    assert fragment_paragraphs(html) == ["Un deux", "trois\nquatre", "cinq", "six"]


def test_boilerplate_rules_keep_long_article_paragraphs() -> None:
    long_about_cookies = "Nous utilisons des cookies, dit le ministre, " + PARAGRAPH * 3
    spam = "Аdvеrtіѕе wіth thе most visited news site іn Веlіzе tоdау"  # Cyrillic look-alikes
    units = "10 μg de vitamine D, 5 μg de B12 et 2 μg de K"  # Greek μ is not spam
    paywall = ["Pour lire la suite, abonnez-vous", "Offre découverte 1 €"]
    kept = clean_paragraphs(
        [PARAGRAPH, long_about_cookies, spam, "Lire aussi : autre", units, *paywall]
    )
    assert kept == [PARAGRAPH, long_about_cookies, units]


def test_utf16_big_endian_with_its_bom() -> None:
    html = page(f"<article><p>{PARAGRAPH}</p><p>Deuxième paragraphe.</p></article>", head="")
    article = extract_html(b"\xfe\xff" + html.encode("utf-16-be"), "be.html")
    assert "débat de plus de six heures" in article.text
