"""ingest.formats.exports: JSON lists, NewsAPI-shaped objects, JSON lines, mappings, and one
error per bad object."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from ingest.formats.base import FormatError
from ingest.formats.exports import read_export

BODY = "Premier paragraphe de l'article.\n\nSecond paragraphe, plus long que le premier."


def _json(value: object) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode()


def test_a_json_list_with_common_field_names() -> None:
    raw = _json(
        [
            {
                "Headline": "Budget voté",  # names are matched case-insensitively
                "body": BODY,
                "text": "court",  # the longest body field wins
                "datePublished": "2020-02-14T09:30:00+01:00",
                "link": "https://journal.example/budget",
                "publisher": {"name": "Le Journal"},
                "authors": ["Marie Dupont", {"name": "Jean Martin"}],
                "lang": "fr-FR",
                "tags": "politique, Lyon",
            },
            {
                "title": "Deux",
                "content": "<p>Un.</p><p>Deux <b>gras</b>.</p>",
                "date": "14 février 2020",
            },
        ]
    )
    result = read_export(raw, "export.json", "json")
    assert result.errors == []
    first, second = result.articles
    assert (first.title, first.text, first.url, first.outlet) == (
        "Budget voté",
        BODY,
        "https://journal.example/budget",
        "Le Journal",
    )
    assert first.published == datetime(2020, 2, 14, 9, 30, tzinfo=timezone(timedelta(hours=1)))
    assert first.authors == ("Marie Dupont", "Jean Martin")
    assert first.language == "fr" and first.keywords == ("politique", "Lyon")
    assert second.text == "Un.\n\nDeux gras."  # HTML bodies keep their paragraphs
    assert second.published == datetime(2020, 2, 14) and second.published_precision == "day"


def test_a_newsapi_response_with_truncated_content() -> None:
    raw = _json(
        {
            "status": "ok",
            "totalResults": 1,
            "articles": [
                {
                    "source": {"id": None, "name": "Le Monde"},
                    "author": "Marie Dupont, Jean Martin",
                    "title": "La réforme des retraites",
                    "description": "Le gouvernement présente son projet.",
                    "url": "https://www.lemonde.fr/a",
                    "publishedAt": "2020-02-14T08:30:00Z",
                    "content": "Le projet a été présenté mercredi en conseil des ministres"
                    "… [+2345 chars]",
                }
            ],
        }
    )
    result = read_export(raw, "newsapi.json", "json")
    (article,) = result.articles
    assert article.outlet == "Le Monde" and article.authors == ("Marie Dupont", "Jean Martin")
    assert article.published == datetime(2020, 2, 14, 8, 30, tzinfo=UTC)
    assert article.text == (
        "Le gouvernement présente son projet.\n\n"
        "Le projet a été présenté mercredi en conseil des ministres"
    )
    assert "[+" not in article.text
    assert article.warnings == (
        "newsapi.json[0]: field 'content' was cut by the source (2,345 characters left out): "
        "the description and the cut text are kept",
    )


def test_jsonl_with_a_bad_line_keeps_the_good_ones_and_names_the_line() -> None:
    lines = [
        _json({"title": "Un", "text": "Texte un."}),
        b'{"title": "Deux", "text": "Texte deux."',  # cut short
        b"",
        _json({"title": "Trois", "text": "Texte trois.", "published": "hier soir"}),
        _json(["not", "an", "object"]),
        _json({"title": "Sans texte", "url": "https://x.example/5"}),
    ]
    result = read_export(b"\n".join(lines), "dump.jsonl", "jsonl")
    assert [a.title for a in result.articles] == ["Un", "Trois"]
    assert [e.where for e in result.errors] == ["dump.jsonl:2", "dump.jsonl:5", "dump.jsonl:6"]
    messages = [str(e) for e in result.errors]
    assert messages[0].startswith("dump.jsonl:2:")
    assert "invalid JSON" in messages[0]
    assert messages[1].startswith("dump.jsonl:5: not an object but list")
    assert messages[2].startswith("dump.jsonl:6: no text")
    # an unreadable date is kept without a date and said, not an error
    trois = result.articles[1]
    assert trois.published is None
    assert trois.warnings == (
        "dump.jsonl:4: field 'published' 'hier soir' could not be read: kept without a date",
    )


def test_a_mapping_with_dotted_paths_overrides_the_common_names() -> None:
    raw = _json(
        {
            "results": [
                {
                    "text": "un résumé à ignorer",
                    "story": {"headline": "Titre", "body_text": BODY},
                    "meta": {"ts": 1581669000, "site": {"label": "Scraper"}},
                }
            ]
        }
    )
    mapping = {"text": "story.body_text", "title": "Story.Headline", "published": "meta.ts",
               "outlet": "meta.site.label"}  # fmt: skip
    (article,) = read_export(raw, "scrape.json", "json", mapping).articles
    assert (article.title, article.text, article.outlet) == ("Titre", BODY, "Scraper")
    assert article.published == datetime(2020, 2, 14, 8, 30, tzinfo=UTC)
    missing = read_export(raw, "scrape.json", "json", {"text": "story.nothing"})
    assert missing.articles == []
    assert str(missing.errors[0]).startswith("scrape.json[0]: no text (looked for story.nothing)")
    with pytest.raises(FormatError, match="mapping: unknown field"):
        read_export(raw, "scrape.json", "json", {"body": "story.body_text"})


def test_whole_file_errors() -> None:
    with pytest.raises(FormatError) as err:
        read_export(b'[{"title": "a",\n  "text": }]', "broken.json", "json")
    assert str(err.value) == "broken.json:2:11: invalid JSON: Expecting value"
    with pytest.raises(FormatError, match=r"^n\.json: a JSON int, not a list of articles$"):
        read_export(b"42", "n.json", "json")
    with pytest.raises(FormatError, match="several lists"):
        read_export(_json({"a": [{"x": 1}], "b": [{"y": 2}]}), "two.json", "json")
    with pytest.raises(FormatError, match=r"^latin\.json:1: not valid UTF-8"):
        read_export('[{"title": "é"}]'.encode("latin-1"), "latin.json", "json")
    with pytest.raises(FormatError, match="an empty export"):
        read_export(b"\n\n", "empty.jsonl", "jsonl")


def test_an_article_without_title_gets_its_first_words_and_a_warning() -> None:
    (article,) = read_export(_json([{"content": BODY}]), "x.json", "json").articles
    assert article.title == "Premier paragraphe de l'article."
    assert article.warnings == ("x.json[0]: no title: the first words of the text stand for it",)


def test_description_alone_is_kept_with_a_warning() -> None:
    (article,) = read_export(
        _json([{"title": "T", "description": "Résumé."}]), "d.json", "json"
    ).articles
    assert article.text == "Résumé." and article.warnings == (
        "d.json[0]: only the summary was available",
    )
