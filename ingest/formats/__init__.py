"""Readers of news formats, pure functions from bytes to `Extracted` articles:

- `base`: `Extracted`, `FormatError`, `sniff(name, content_type, raw)`;
- `html`: `extract_html(raw, source, url)`, saved or fetched article pages (trafilatura);
- `feed`: `parse_feed(raw, source)` and `entry_article(entry, feed, fetch_page)` (feedparser);
- `exports`: `read_export(raw, source, kind, mapping)`, JSON / JSON-lines exports;
- `dates`: `read_date(value)`, French and English dates;
- `boilerplate`: the rules that clean what trafilatura keeps of a page's boilerplate.

Fetching is apart, in `ingest.fetch`.
"""

from ingest.formats.base import Extracted, FormatError, sniff
from ingest.formats.exports import ExportResult, ItemError, read_export
from ingest.formats.feed import Feed, FeedEntry, entry_article, parse_feed
from ingest.formats.html import extract_html

__all__ = [
    "ExportResult",
    "Extracted",
    "Feed",
    "FeedEntry",
    "FormatError",
    "ItemError",
    "entry_article",
    "extract_html",
    "parse_feed",
    "read_export",
    "sniff",
]
