"""ingest.formats.feed: RSS 2.0 and Atom samples, and entry_article with a fake fetch_page."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from ingest.fetch import FetchError
from ingest.formats.base import FormatError
from ingest.formats.feed import SUMMARY_ONLY, entry_article, parse_feed

PARIS = timezone(timedelta(hours=1))
LONG_BODY = " ".join(["Le conseil municipal a voté le budget après un long débat."] * 12)

RSS = f"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"
     xmlns:atom="http://www.w3.org/2005/Atom" xmlns:dc="http://purl.org/dc/elements/1.1/">
<channel>
  <title>Le Journal de Lyon</title><link>https://journal.example/</link>
  <language>fr-FR</language>
  <atom:link href="https://journal.example/rss.xml" rel="self" type="application/rss+xml"/>
  <item>
    <title>Budget voté</title><link>https://journal.example/budget</link>
    <guid isPermaLink="false">budget-2020</guid>
    <pubDate>Fri, 14 Feb 2020 09:30:00 +0100</pubDate>
    <dc:creator>Marie Dupont</dc:creator><category>Politique</category><category>Lyon</category>
    <description>Le budget est voté.</description>
    <content:encoded><![CDATA[<p>{LONG_BODY}</p><p>Second <b>paragraphe</b> du texte.</p>
      <script>track()</script>]]></content:encoded>
  </item>
  <item>
    <title>Résumé seulement</title><link>https://journal.example/resume</link>
    <pubDate>Sat, 15 Feb 2020 18:05:00 GMT</pubDate>
    <description>&lt;p&gt;Un court résumé.&lt;/p&gt;</description>
  </item>
  <item>
    <title>Date illisible</title><link>https://journal.example/date</link>
    <pubDate>hier soir</pubDate>
    <description>Texte.</description>
  </item>
</channel></rss>""".encode()

ATOM = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <title>Atom News</title><link href="https://atom.example/"/>
  <link rel="self" href="https://atom.example/feed.atom"/>
  <id>urn:feed</id><updated>2020-02-14T09:30:00+01:00</updated>
  <entry>
    <title>Full entry</title><id>urn:entry:1</id><link href="https://atom.example/1"/>
    <published>2020-02-14T09:30:00+01:00</published><updated>2020-02-15T10:00:00Z</updated>
    <author><name>A. Writer</name></author><author><name>B. Editor</name></author>
    <summary>Short summary.</summary>
    <content type="html">&lt;p&gt;First paragraph of the story.&lt;/p&gt;
      &lt;p&gt;Second one, longer than the summary.&lt;/p&gt;</content>
  </entry>
  <entry>
    <title>Only updated</title><link href="https://atom.example/2"/>
    <updated>2020-02-16T08:00:00-05:00</updated>
    <summary>Teaser.</summary>
  </entry>
</feed>"""

PAGE = f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Teaser page - Atom News</title>
<meta property="article:published_time" content="2020-02-16T08:00:00-05:00">
</head><body><nav><a href="/">Home</a> <a href="/news">News</a></nav>
<article><h1>Teaser page</h1><p>{LONG_BODY}</p><p>The page has the whole story.</p></article>
<footer>Copyright Atom News</footer></body></html>""".encode()


def test_rss_entries_guid_dates_authors_and_categories() -> None:
    feed = parse_feed(RSS, "https://journal.example/rss.xml")
    assert (feed.title, feed.link, feed.url, feed.language) == (
        "Le Journal de Lyon",
        "https://journal.example/",
        "https://journal.example/rss.xml",
        "fr",
    )
    first, second, third = feed.entries
    assert first.guid == "budget-2020"  # the guid, not the link
    assert second.guid == "https://journal.example/resume"  # no guid: the link
    assert first.published == datetime(2020, 2, 14, 9, 30, tzinfo=PARIS)
    assert first.published.utcoffset() == timedelta(hours=1)  # the zone the feed wrote
    assert second.published == datetime(2020, 2, 15, 18, 5, tzinfo=UTC)
    assert first.authors == ("Marie Dupont",) and first.categories == ("Politique", "Lyon")
    assert "script" not in first.content_html  # feedparser's sanitiser
    assert third.published is None
    assert third.warnings and "'hier soir' could not be read" in third.warnings[0]


def test_content_encoded_gives_the_full_text_in_paragraphs() -> None:
    feed = parse_feed(RSS, "https://journal.example/rss.xml")
    article = entry_article(feed.entries[0], feed, fetch_page=None)
    assert article.text == f"{LONG_BODY}\n\nSecond paragraphe du texte."
    assert article.title == "Budget voté"
    assert article.outlet == "Le Journal de Lyon"
    assert article.feed == "https://journal.example/rss.xml"
    assert article.guid == "budget-2020" and article.url == "https://journal.example/budget"
    assert article.keywords == ("Politique", "Lyon") and article.language == "fr"
    assert article.published_precision == "second" and article.warnings == ()


def test_summary_only_entry_fetches_the_page_else_keeps_the_summary_with_a_warning() -> None:
    feed = parse_feed(ATOM, "feed.atom")
    entry = feed.entries[1]
    asked: list[str] = []

    def fetch_page(url: str) -> bytes | None:
        asked.append(url)
        return PAGE

    article = entry_article(entry, feed, fetch_page)
    assert asked == ["https://atom.example/2"]
    assert "The page has the whole story." in article.text and "Home" not in article.text
    assert article.title == "Only updated"  # the entry's title wins over the page's
    assert article.published == datetime(2020, 2, 16, 8, tzinfo=timezone(timedelta(hours=-5)))
    assert article.outlet == "Atom News" and article.feed == "https://atom.example/feed.atom"

    for failing in (lambda url: None, lambda url: b"<html><body></body></html>"):
        fallback = entry_article(entry, feed, failing)
        assert fallback.text == "Teaser."
        assert any(SUMMARY_ONLY in w for w in fallback.warnings)

    def refused(url: str) -> bytes | None:
        raise FetchError(f"{url}: HTTP 404")

    fallback = entry_article(entry, feed, refused)
    assert fallback.text == "Teaser." and any("HTTP 404" in w for w in fallback.warnings)
    assert entry_article(entry, feed, None).text == "Teaser."


def test_atom_content_longer_than_the_summary_and_dates() -> None:
    feed = parse_feed(ATOM, "feed.atom")
    assert feed.url == "https://atom.example/feed.atom"
    entry = feed.entries[0]
    assert entry.guid == "urn:entry:1" and entry.authors == ("A. Writer", "B. Editor")
    assert entry.published == datetime(2020, 2, 14, 9, 30, tzinfo=PARIS)
    assert entry.updated == datetime(2020, 2, 15, 10, tzinfo=UTC)
    article = entry_article(entry, feed, lambda url: pytest.fail("no fetch needed"))
    assert article.text == "First paragraph of the story.\n\nSecond one, longer than the summary."
    # an entry with only <updated>: that date stands for the publication
    assert feed.entries[1].published == datetime(
        2020, 2, 16, 8, tzinfo=timezone(timedelta(hours=-5))
    )


def test_malformed_xml_names_the_source_and_the_parser_reason() -> None:
    with pytest.raises(FormatError) as err:
        parse_feed(b"<rss><channel><title>x</title><item><title>broken</item></channel>", "bad.xml")
    assert str(err.value).startswith("bad.xml: not a readable feed: mismatched tag (line 1")


def test_a_feed_without_entries_and_a_page_that_is_no_feed() -> None:
    empty = b'<?xml version="1.0"?><rss version="2.0"><channel><title>Empty</title></channel></rss>'
    with pytest.raises(FormatError, match=r"^empty\.xml: the feed has no entries$"):
        parse_feed(empty, "empty.xml")
    with pytest.raises(FormatError, match="not an RSS or Atom feed"):
        parse_feed(b"<html><body><p>hello</p></body></html>", "page.xml")


def test_bytes_that_look_like_a_path_are_not_opened() -> None:
    """feedparser opens a str or bytes argument that names a file: parse_feed must not."""
    with pytest.raises(FormatError):
        parse_feed(b"/etc/hostname", "x.xml")


def test_an_entry_with_no_text_at_all_is_an_error() -> None:
    rss = b"""<rss version="2.0"><channel><title>T</title>
      <item><title>Empty</title><guid>g1</guid></item></channel></rss>"""
    feed = parse_feed(rss, "t.xml")
    with pytest.raises(FormatError, match="entry 'g1': no text"):
        entry_article(feed.entries[0], feed, None)
