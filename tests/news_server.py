"""A local HTTP server for news tests: pages, feeds and exports served from a dict that a test
changes as it goes, with ETag / Last-Modified and conditional requests, and a log of every
request. It listens on 127.0.0.1 only: fetching from it needs RAG_ALLOW_PRIVATE_URLS=true."""

from __future__ import annotations

import hashlib
import threading
import time
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Resource:
    body: bytes
    content_type: str
    status: int = 200
    last_modified: str = field(default_factory=lambda: formatdate(usegmt=True))
    delay: float = 0.0  # seconds before answering (a slow server)

    @property
    def etag(self) -> str:
        return '"' + hashlib.sha1(self.body).hexdigest()[:16] + '"'


class NewsServer:
    """`server.put("/feed.xml", body, "application/rss+xml")`, `server.url("/feed.xml")`;
    `server.requests` lists (path, status) of every request answered."""

    def __init__(self) -> None:
        self.resources: dict[str, Resource] = {}
        self.requests: list[tuple[str, int]] = []
        self._lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # quiet
                pass

            def do_GET(self) -> None:
                with owner._lock:
                    resource = owner.resources.get(self.path.split("?")[0])
                if resource is None:
                    self._answer(404, b"not found", "text/plain")
                    return
                time.sleep(resource.delay)
                fresh = self.headers.get("If-None-Match") == resource.etag or (
                    "If-None-Match" not in self.headers
                    and self.headers.get("If-Modified-Since") == resource.last_modified
                )
                if resource.status == 200 and fresh:
                    self._answer(304, b"", resource.content_type, resource)
                    return
                self._answer(resource.status, resource.body, resource.content_type, resource)

            def _answer(
                self, status: int, body: bytes, ctype: str, resource: Resource | None = None
            ) -> None:
                with owner._lock:
                    owner.requests.append((self.path, status))
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                if resource is not None:
                    self.send_header("ETag", resource.etag)
                    self.send_header("Last-Modified", resource.last_modified)
                self.end_headers()
                self.wfile.write(body)

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    def __enter__(self) -> NewsServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=10)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def url(self, path: str) -> str:
        return self.base + path

    def put(
        self, path: str, body: bytes | str, content_type: str, status: int = 200, delay: float = 0
    ) -> str:
        raw = body.encode() if isinstance(body, str) else body
        with self._lock:
            self.resources[path] = Resource(raw, content_type, status, delay=delay)
        return self.url(path)

    def hits(self, path: str) -> list[int]:
        """The statuses answered to requests for `path`, in order."""
        with self._lock:
            return [status for p, status in self.requests if p.split("?")[0] == path]


def rss(title: str, items: list[dict[str, str]], self_url: str = "") -> str:
    """An RSS 2.0 feed; each item: title, link, guid, pubDate, description, content, source."""
    parts = []
    for item in items:
        fields = [f"<title>{item['title']}</title>"]
        for key in ("link", "guid", "pubDate", "description"):
            if item.get(key):
                fields.append(f"<{key}>{item[key]}</{key}>")
        if item.get("source"):
            fields.append(f'<source url="https://example.org/rss">{item["source"]}</source>')
        if item.get("content"):
            fields.append(f"<content:encoded><![CDATA[{item['content']}]]></content:encoded>")
        parts.append("<item>" + "".join(fields) + "</item>")
    link = f'<atom:link href="{self_url}" rel="self"/>' if self_url else ""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/" '
        'xmlns:atom="http://www.w3.org/2005/Atom"><channel>'
        f"<title>{title}</title><link>https://example.org/</link><language>fr</language>{link}"
        + "".join(parts)
        + "</channel></rss>"
    )


def article_page(title: str, paragraphs: list[str], *, site: str, date: str, author: str) -> str:
    """An HTML article page with the metadata news sites give (Open Graph, article dates)."""
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return f"""<!doctype html><html lang="fr"><head><meta charset="utf-8">
<title>{title} - {site}</title>
<meta property="og:site_name" content="{site}">
<meta property="og:title" content="{title}">
<meta property="article:published_time" content="{date}">
<meta name="author" content="{author}">
</head><body>
<nav><a href="/">Accueil</a> <a href="/sport">Sport</a></nav>
<article><h1>{title}</h1>{body}</article>
<footer>© {site} — tous droits réservés</footer>
</body></html>"""
