"""ingest.readers.read_source: one interface for every format (dispatch, ids, metadata,
exact offsets, errors per item) and the content hash with metadata."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from ingest.identity import content_hash
from ingest.readers import SUPPORTED, ReadError, find_files, read_file, read_source, read_upload
from tests.news_server import article_page, rss

PARAGRAPHS = [
    "La métropole de Brest a voté jeudi soir le prolongement de la seconde ligne de tramway "
    "jusqu’au quartier de Lambézellec, pour un coût estimé à 180 millions d’euros.",
    "Les travaux commenceront au printemps 2025 et dureront trois ans, selon le vice-président "
    "chargé des mobilités, qui promet une rame toutes les six minutes.",
]
PAGE = article_page(
    "Le tramway de Brest prolongé",
    PARAGRAPHS,
    site="Le Télégramme",
    date="2024-03-14T18:30:00+01:00",
    author="Anne Le Goff",
).encode()
LONG = " ".join(["Le conseil municipal a voté le budget après un long débat public."] * 6)


def check_offsets(document) -> None:
    """The stored text is title + blank line + body, and every paragraph is found in it."""
    assert document.text.startswith(document.title + "\n\n")
    assert document.body_start == len(document.title) + 2


def test_a_page_becomes_title_and_body_with_its_metadata():
    result = read_source("brest.html", PAGE)
    assert result.kind == "html" and result.errors == [] and result.single
    doc = result.documents[0]
    check_offsets(doc)
    assert doc.doc_id == "brest"  # a file's id: its stem
    assert doc.text[doc.body_start :].split("\n\n")[0] == PARAGRAPHS[0]
    assert (doc.published, doc.outlet, doc.authors, doc.language) == (
        "2024-03-14T18:30:00+01:00",
        "Le Télégramme",
        ("Anne Le Goff",),
        "fr",
    )
    assert "Accueil" not in doc.text and "droits réservés" not in doc.text
    # fetched from a URL: the id is the host and a hash of the URL, the URL is kept
    url = "https://www.letelegramme.fr/brest/tram.html"
    from_url = read_source(url, PAGE, "text/html", url=url).documents[0]
    digest = hashlib.sha1(url.encode()).hexdigest()[:12]
    assert from_url.doc_id == f"letelegramme.fr-{digest}"
    assert from_url.url == url and from_url.source == url


def test_a_feed_gives_one_document_per_entry_and_reports_the_bad_one():
    body = rss(
        "Le Journal",
        [
            {
                "title": "Budget voté",
                "link": "https://journal.example/budget",
                "guid": "budget-2020",
                "pubDate": "Fri, 14 Feb 2020 09:30:00 +0100",
                "content": f"<p>{LONG}</p>",
            },
            {
                "title": "Agrégé",
                "link": "https://autre.example/a",
                "guid": "agrege-1",
                "pubDate": "Sat, 15 Feb 2020 10:00:00 GMT",
                "description": "Un résumé seulement.",
                "source": "Ouest-France",
            },
            {"title": "Vide", "link": "https://journal.example/vide", "guid": "vide"},
        ],
        self_url="https://journal.example/rss.xml",
    ).encode()
    result = read_source("journal.xml", body)
    assert result.kind == "feed" and not result.single
    assert len(result.documents) == 2
    assert len(result.errors) == 1 and "entry 'vide'" in result.errors[0]
    assert "no text" in result.errors[0]
    budget, aggregated = result.documents
    check_offsets(budget)
    guid_hash = hashlib.sha1(b"budget-2020").hexdigest()[:12]
    assert budget.doc_id == f"journal.example-{guid_hash}"  # the feed's host and the guid
    assert (budget.published, budget.outlet, budget.url, budget.feed) == (
        "2020-02-14T09:30:00+01:00",
        "Le Journal",
        "https://journal.example/budget",
        "https://journal.example/rss.xml",
    )
    assert budget.text[budget.body_start :].strip() == LONG
    assert aggregated.outlet == "Ouest-France"  # RSS <source> names an aggregator's outlet
    assert aggregated.published == "2020-02-15T10:00:00+00:00"
    assert any("only the summary" in w for w in result.warnings[1])
    # an edited title keeps the id (the guid decides), and changes the content hash
    edited = read_source("journal.xml", body.replace(b"Budget vot", b"Budget enfin vot"))
    assert edited.documents[0].doc_id == budget.doc_id
    assert edited.documents[0].content_hash != budget.content_hash


def test_json_and_jsonl_exports_map_fields_and_report_each_bad_object():
    rows = [
        {
            "title": "Grève à la SNCF",
            "content": "Les cheminots ont cessé le travail mardi.\n\nLe trafic reprendra jeudi.",
            "publishedAt": "2020-02-14T09:30:00Z",
            "source": {"name": "Le Monde"},
            "author": "Marie Dupont; Jean Martin",
            "url": "https://www.lemonde.fr/a.html",
        },
        {"title": "Sans texte"},
        {"id": "X-42", "headline": "Un titre", "body": "Un texte.", "date": "hier soir"},
        {"headline": "Ni id ni URL", "body": "Autre texte."},
    ]
    jsonl = "\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n{broken\n"
    result = read_source("export.jsonl", jsonl.encode())
    assert result.kind == "jsonl"
    assert [d.title for d in result.documents] == ["Grève à la SNCF", "Un titre", "Ni id ni URL"]
    assert sorted(e.split(": ")[0] for e in result.errors) == [
        "export.jsonl:2",
        "export.jsonl:5:2",
    ]
    first, with_id, bare = result.documents
    check_offsets(first)
    assert first.text[first.body_start :] == "Les cheminots ont cessé le travail mardi.\n\n" + (
        "Le trafic reprendra jeudi.\n"
    )
    assert (first.published, first.outlet, first.authors) == (
        "2020-02-14T09:30:00+00:00",
        "Le Monde",
        ("Marie Dupont", "Jean Martin"),
    )
    assert first.doc_id.startswith("lemonde.fr-")  # from its URL
    assert with_id.doc_id == f"export-{hashlib.sha1(b'X-42').hexdigest()[:12]}"  # its id field
    assert with_id.published == "" and any("hier soir" in w for w in result.warnings[1])
    assert bare.doc_id == "export-4"  # its line
    # the same in a .json file: index positions; a mapping names other fields
    as_json = json.dumps({"articles": [{"story": {"txt": "Texte imbriqué."}, "h": "T"}]})
    mapped = read_source("dump.json", as_json.encode(), mapping={"text": "story.txt", "title": "h"})
    assert [(d.doc_id, d.title) for d in mapped.documents] == [("dump-0", "T")]


def test_text_and_markdown_read_as_before_and_hash_as_before(tmp_path: Path):
    seed = "Un titre\nmot, clé\n\nLe texte de l’article, assez long pour être lu.\n"
    result = read_source("seed.txt", seed.encode())
    doc = result.documents[0]
    assert (result.kind, doc.doc_id, doc.title, doc.keywords) == (
        "text",
        "seed",
        "Un titre",
        ("mot", "clé"),
    )
    # a store written before metadata existed keeps its hashes: no metadata, the old formula
    old = hashlib.sha256(f"{doc.title}\x00{doc.text}".encode()).hexdigest()
    assert doc.content_hash == old == content_hash(doc.title, doc.text, published="", url="")
    dated = content_hash(doc.title, doc.text, published="2020-02-14")
    assert dated != old != content_hash(doc.title, doc.text, published="2020-02-15")
    assert read_source("note.md", b"# Heading\n\nSome text here.").documents[0].title == "Heading"
    # served as text/markdown under a name without suffix: still Markdown
    served = read_source("https://x.example/n", b"# Heading\n\nBody.", "text/markdown")
    assert served.kind == "markdown" and served.documents[0].title == "Heading"


def test_bad_input_names_the_file_and_stores_nothing_half_read(tmp_path: Path):
    assert "no article text found" in read_source("menu.html", b"<html><body><nav>Accueil"
                                                  b"</nav></body></html>").errors[0]  # fmt: skip
    malformed = read_source("bad.xml", b"<rss><channel><item><title>x</title></chann")
    assert malformed.documents == [] and malformed.errors[0].startswith("bad.xml: ")
    empty = read_source("empty.rss", rss("Vide", []).encode())
    assert empty.errors == ["empty.rss: the feed has no entries"]
    broken = read_source("broken.json", b'{"articles": [')
    assert broken.errors[0].startswith("broken.json:1:") and "invalid JSON" in broken.errors[0]
    big = read_source("big.html", PAGE, max_bytes=100)
    assert big.documents == [] and "larger than the 100-byte limit" in big.errors[0]
    # a document id names one article: not a feed of several
    several = read_source("j.jsonl", b'{"text": "a b"}\n{"text": "c d"}\n', doc_id="mine")
    assert several.documents == [] and "names one article" in several.errors[0]
    assert read_source("p.html", PAGE, doc_id="mine").documents[0].doc_id == "mine"
    # NUL and lone surrogates in an export never reach the store
    odd = read_source("odd.jsonl", b'{"title": "T", "text": "a\\u0000b"}\n'
                      b'{"title": "T", "text": "a\\ud800b"}\n')  # fmt: skip
    assert odd.documents == [] and len(odd.errors) == 2
    assert "NUL" in odd.errors[0] and "not valid Unicode" in odd.errors[1]
    pdf = tmp_path / "doc.pdf"
    pdf.write_bytes(b"%PDF")
    assert "unsupported file type '.pdf'" in read_file(pdf).errors[0]
    with pytest.raises(ReadError, match="unsupported file type"):
        read_upload("notes.pdf", b"%PDF")


def test_folders_hold_every_supported_format(tmp_path: Path):
    for suffix in sorted(SUPPORTED):
        (tmp_path / f"a{suffix}").write_text("x")
    (tmp_path / "b.pdf").write_text("x")
    found = {f.suffix for f in find_files([tmp_path])}
    assert found == SUPPORTED == {
        ".txt", ".md", ".markdown", ".html", ".htm", ".xml", ".rss", ".atom", ".json", ".jsonl",
    }  # fmt: skip
