"""ingest.formats.base.sniff and ingest.formats.dates.read_date."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from ingest.formats.base import sniff
from ingest.formats.dates import read_date

PARIS = timezone(timedelta(hours=1))
RSS = (
    b'<?xml version="1.0" encoding="utf-8"?>\n<!-- a feed -->\n<rss version="2.0"><channel/></rss>'
)


@pytest.mark.parametrize(
    ("name", "content_type", "raw", "kind"),
    [
        ("feed.xml", "", RSS, "feed"),
        ("x", "text/html", RSS, "feed"),  # the root element wins over a wrong content type
        ("x", "", b"\xef\xbb\xbf  <feed xmlns='http://www.w3.org/2005/Atom'>", "feed"),
        ("rdf", "", b"<rdf:RDF xmlns:rdf='x'><item/></rdf:RDF>", "feed"),
        ("p", "application/octet-stream", b"<!DOCTYPE html>\n<html><body>x</body></html>", "html"),
        ("page.html", "", b"<div>no root</div>", "html"),
        ("x.xml", "", b"<?xml version='1.0'?><html xmlns='http://www.w3.org/1999/xhtml'>", "html"),
        ("x", "application/rss+xml; charset=utf-8", b"  <channel>", "feed"),
        ("x", "text/xml", b"<something/>", "feed"),
        ("news.json", "", b'[{"title": "a"}]', "json"),
        ("news.json", "", b'{"title": "a"}\n{"title": "b"}\n', "jsonl"),  # lines in a .json
        ("x", "application/json", b'{"articles": []}', "json"),
        ("dump.jsonl", "", b'{"a": 1}\n{"a": 2}\n', "jsonl"),
        ("x", "application/x-ndjson", b'{"a": 1}\n', "jsonl"),
        ("x", "", b'{"a": 1}\n{"a": 2}', "jsonl"),
        ("notes.md", "", b"# Titre\n\nTexte", "markdown"),
        ("x", "text/markdown", b"# Titre", "markdown"),
        ("a.txt", "", b"Titre\n\nTexte", "text"),
        ("x", "", b"Titre\n\nTexte <b>", "text"),
    ],
)
def test_sniff(name: str, content_type: str, raw: bytes, kind: str) -> None:
    assert sniff(name, content_type, raw) == kind


@pytest.mark.parametrize(
    ("text", "value", "precision"),
    [
        ("2020-02-14T09:30:00+01:00", datetime(2020, 2, 14, 9, 30, tzinfo=PARIS), "second"),
        ("2020-02-14T08:30Z", datetime(2020, 2, 14, 8, 30, tzinfo=UTC), "minute"),
        ("Fri, 14 Feb 2020 09:30:00 GMT", datetime(2020, 2, 14, 9, 30, tzinfo=UTC), "second"),
        ("Fri, 14 Feb 2020 09:30:00 +0100", datetime(2020, 2, 14, 9, 30, tzinfo=PARIS), "second"),
        ("14 février 2020", datetime(2020, 2, 14), "day"),
        ("vendredi 14 février 2020 à 09h30", datetime(2020, 2, 14, 9, 30), "minute"),
        ("Publié le 3 mars 2021 à 18h05", datetime(2021, 3, 3, 18, 5), "minute"),
        ("le 1er mars 2021", datetime(2021, 3, 1), "day"),
        ("February 14, 2020", datetime(2020, 2, 14), "day"),
        ("2020-02-14", datetime(2020, 2, 14), "day"),
        ("14/02/2020", datetime(2020, 2, 14), "day"),  # day first, as in French
        ("1581669000", datetime(2020, 2, 14, 8, 30, tzinfo=UTC), "second"),
    ],
)
def test_read_date(text: str, value: datetime, precision: str) -> None:
    reading = read_date(text)
    assert (reading.value, reading.precision, reading.warning) == (value, precision, "")
    assert (reading.value.tzinfo is None) == (value.tzinfo is None)


@pytest.mark.parametrize(
    "text", ["hier soir", "il y a 2 heures", "2 hours ago", "14 février", "bientôt"]
)
def test_relative_or_partial_dates_are_not_guessed(text: str) -> None:
    reading = read_date(text, "field 'date'")
    assert reading.value is None
    assert reading.warning == f"field 'date' {text!r} could not be read: kept without a date"


def test_other_values() -> None:
    assert read_date(None).value is None and read_date(None).warning == ""
    assert read_date(1581669000000).value == datetime(2020, 2, 14, 8, 30, tzinfo=UTC)  # ms
    assert read_date(date(2020, 2, 14)).precision == "day"
    parsed = time.strptime("2020-02-14 08:30:00", "%Y-%m-%d %H:%M:%S")
    assert read_date(parsed).value == datetime(2020, 2, 14, 8, 30, tzinfo=UTC)
    assert "is not a date" in read_date(["x"]).warning
