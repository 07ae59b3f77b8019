"""ingest.fetch against a real HTTP server on the loopback interface (a thread of this test)."""

from __future__ import annotations

import gzip
import ipaddress
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from ingest import fetch as fetch_module
from ingest.fetch import FetchError, address_problem, fetch

PAGE = b"<!doctype html><html><head><title>T</title></head><body><p>Hello</p></body></html>"
ETAG = '"v1"'


class Handler(BaseHTTPRequestHandler):
    seen_hosts: list[str] = []  # noqa: RUF012 - shared with the test on purpose

    def log_message(self, *args) -> None:  # quiet
        pass

    def _send(self, status: int, body: bytes = b"", ctype: str = "text/html", **headers) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for key, value in headers.items():
            self.send_header(key.replace("_", "-"), value)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        Handler.seen_hosts.append(self.headers.get("Host", ""))
        port = self.server.server_address[1]
        path = self.path
        if path == "/page":
            self._send(200, PAGE, "text/html; charset=utf-8", ETag=ETAG)
        elif path == "/etag":
            if self.headers.get("If-None-Match") == ETAG:
                self._send(304, ETag=ETAG)
            else:
                self._send(200, PAGE, ETag=ETAG, Last_Modified="Fri, 14 Feb 2020 09:30:00 GMT")
        elif path == "/png":
            self._send(200, b"\x89PNG....", "image/png")
        elif path == "/huge":
            self._send(200, b"x" * 200_000)
        elif path == "/huge-chunked":  # no Content-Length: the limit must hold while streaming
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.end_headers()
            for _ in range(50):
                self.wfile.write(b"y" * 10_000)
        elif path == "/gzip":
            body = gzip.compress(b"<html><body>" + b"z" * 500_000 + b"</body></html>")
            self._send(200, body, "text/html", Content_Encoding="gzip")
        elif path == "/missing":
            self._send(404, b"not here")
        elif path == "/to-other-address":  # same server, another loopback address
            self._send(302, Location=f"http://127.0.0.2:{port}/page")
        elif path == "/relative-redirect":
            self._send(301, Location="/page")
        elif path == "/loop":
            self._send(302, Location="/loop")
        elif path == "/to-file":
            self._send(302, Location="file:///etc/passwd")
        else:
            self._send(404)


@pytest.fixture(scope="module")
def server() -> Iterator[int]:
    # 0.0.0.0 would listen on every interface; the loopback range is enough (127.0.0.2 too)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd.server_address[1]
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def server2(server: int) -> Iterator[int]:
    """The same handler on 127.0.0.2 (Linux answers on the whole 127.0.0.0/8)."""
    try:
        httpd = ThreadingHTTPServer(("127.0.0.2", server), Handler)
    except OSError as err:
        pytest.skip(f"cannot listen on 127.0.0.2: {err}")
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield server
    httpd.shutdown()
    httpd.server_close()


def test_a_page_is_fetched_from_an_allowed_private_host(server: int) -> None:
    got = fetch(f"http://127.0.0.1:{server}/page", allow_private=True)
    assert (got.status, got.body, got.media_type, got.charset) == (200, PAGE, "text/html", "utf-8")
    assert got.etag == ETAG and not got.not_modified
    assert got.final_url == got.url


def test_the_host_header_names_the_url_host_not_the_address(server: int) -> None:
    Handler.seen_hosts.clear()
    fetch(f"http://localhost:{server}/page", allow_private=True)
    assert Handler.seen_hosts == [f"localhost:{server}"]


def test_loopback_is_refused_by_default_before_any_request(server: int) -> None:
    Handler.seen_hosts.clear()
    with pytest.raises(FetchError) as err:
        fetch(f"http://127.0.0.1:{server}/page")
    assert str(err.value) == (
        f"http://127.0.0.1:{server}/page: refused: 127.0.0.1 is a loopback address "
        "(set RAG_ALLOW_PRIVATE_URLS=true to allow)"
    )
    assert Handler.seen_hosts == []
    with pytest.raises(FetchError, match="loopback"):
        fetch(f"http://localhost:{server}/page")


def test_a_redirect_to_another_address_is_followed_and_rechecked(server: int, server2: int) -> None:
    Handler.seen_hosts.clear()
    got = fetch(f"http://127.0.0.1:{server}/to-other-address", allow_private=True)
    assert got.body == PAGE
    assert got.final_url == f"http://127.0.0.2:{server}/page"
    assert Handler.seen_hosts == [f"127.0.0.1:{server}", f"127.0.0.2:{server}"]


def test_a_redirect_from_an_allowed_address_to_a_loopback_one_is_refused(
    server: int, server2: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Stand-in policy: 127.0.0.1 plays a public address; 127.0.0.2 keeps the real check.
    real = fetch_module.address_problem
    public = ipaddress.ip_address("127.0.0.1")
    monkeypatch.setattr(fetch_module, "address_problem", lambda a: None if a == public else real(a))
    Handler.seen_hosts.clear()
    with pytest.raises(FetchError) as err:
        fetch(f"http://127.0.0.1:{server}/to-other-address")
    message = str(err.value)
    assert message.startswith(f"http://127.0.0.2:{server}/page (redirected from http://127.0.0.1")
    assert "127.0.0.2 is a loopback address" in message
    assert Handler.seen_hosts == [f"127.0.0.1:{server}"]  # the second hop never connected


def test_relative_redirects_and_their_limit(server: int) -> None:
    got = fetch(f"http://127.0.0.1:{server}/relative-redirect", allow_private=True)
    assert got.body == PAGE and got.final_url.endswith("/page")
    with pytest.raises(FetchError, match=r"too many redirects \(more than 5\)"):
        fetch(f"http://127.0.0.1:{server}/loop", allow_private=True)
    with pytest.raises(FetchError, match="only http and https"):
        fetch(f"http://127.0.0.1:{server}/to-file", allow_private=True)


def test_size_limit_by_header_and_while_streaming(server: int) -> None:
    base = f"http://127.0.0.1:{server}"
    with pytest.raises(FetchError) as err:
        fetch(f"{base}/huge", allow_private=True, max_bytes=100_000)
    assert str(err.value) == f"{base}/huge: 200,000 bytes, larger than the 100,000-byte limit"
    with pytest.raises(FetchError, match="larger than the 100,000-byte limit"):
        fetch(f"{base}/huge-chunked", allow_private=True, max_bytes=100_000)
    # the limit is on the decompressed body: a small gzip cannot hide a large page
    with pytest.raises(FetchError, match="larger than the 100,000-byte limit"):
        fetch(f"{base}/gzip", allow_private=True, max_bytes=100_000)
    assert len(fetch(f"{base}/gzip", allow_private=True).body) > 500_000


def test_wrong_content_type_and_http_errors(server: int) -> None:
    base = f"http://127.0.0.1:{server}"
    with pytest.raises(FetchError) as err:
        fetch(f"{base}/png", allow_private=True)
    assert str(err.value) == f"{base}/png: content type image/png is not a page, feed or export"
    with pytest.raises(FetchError) as err:
        fetch(f"{base}/missing", allow_private=True)
    assert str(err.value) == f"{base}/missing: HTTP 404"


def test_conditional_request_gives_not_modified(server: int) -> None:
    url = f"http://127.0.0.1:{server}/etag"
    first = fetch(url, allow_private=True)
    assert first.etag == ETAG and first.last_modified == "Fri, 14 Feb 2020 09:30:00 GMT"
    again = fetch(url, allow_private=True, headers={"If-None-Match": first.etag})
    assert again.not_modified and again.status == 304 and again.body == b""


def test_timeout_is_named() -> None:
    import socket

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)  # accepts the connection, never answers
    try:
        port = listener.getsockname()[1]
        with pytest.raises(FetchError) as err:
            fetch(f"http://127.0.0.1:{port}/slow", allow_private=True, timeout=0.3)
        assert str(err.value) == f"http://127.0.0.1:{port}/slow: timed out after 0.3 s"
    finally:
        listener.close()


def test_other_schemes_are_refused() -> None:
    for url in ("file:///etc/passwd", "ftp://example.org/x", "gopher://x/"):
        with pytest.raises(FetchError, match="only http and https"):
            fetch(url)


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "a loopback address"),
        ("10.0.0.8", "a private address"),
        ("172.16.5.4", "a private address"),
        ("192.168.1.1", "a private address"),
        ("169.254.169.254", "a link-local address"),  # cloud metadata
        ("0.0.0.0", "an unspecified address"),
        ("224.0.0.1", "a multicast address"),
        ("100.64.0.1", "not a public address"),  # carrier-grade NAT
        ("::1", "a loopback address"),
        ("::", "an unspecified address"),
        ("fe80::1", "a link-local address"),
        ("fd12:3456::1", "a private address"),
        ("ff02::1", "a multicast address"),
        ("::ffff:127.0.0.1", "a loopback address (inside ::ffff:7f00:1)"),
        ("::ffff:10.0.0.1", "a private address (inside ::ffff:a00:1)"),
        ("2002:a00:1::", "a private address (inside 2002:a00:1::)"),  # 6to4 of 10.0.0.1
    ],
)
def test_non_public_addresses_are_named(address: str, reason: str) -> None:
    assert address_problem(ipaddress.ip_address(address)) == reason


@pytest.mark.parametrize(
    "address", ["93.184.215.14", "8.8.8.8", "2606:4700::1111", "::ffff:8.8.8.8"]
)
def test_public_addresses_pass(address: str) -> None:
    assert address_problem(ipaddress.ip_address(address)) is None


def test_a_name_resolving_to_a_private_address_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every address of the name is checked, not just the first."""
    monkeypatch.setattr(
        fetch_module,
        "resolve",
        lambda host, port: [
            ipaddress.ip_address("93.184.215.14"),
            ipaddress.ip_address("10.0.0.1"),
        ],
    )
    with pytest.raises(
        FetchError, match=r"news\.example/x: refused: 10\.0\.0\.1 is a private address"
    ):
        fetch("https://news.example/x")


def test_the_connection_goes_to_the_checked_address_not_a_second_lookup(
    server: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """news.example resolves nowhere on this machine: the fetch works only because it connects
    to the address that was resolved and checked once (what defeats DNS rebinding)."""
    lookups: list[str] = []

    def resolve_once(host: str, port: int) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
        lookups.append(host)
        return [ipaddress.ip_address("127.0.0.1")]

    monkeypatch.setattr(fetch_module, "resolve", resolve_once)
    Handler.seen_hosts.clear()
    got = fetch(f"http://news.example:{server}/page", allow_private=True)
    assert got.body == PAGE
    assert lookups == ["news.example"]
    assert Handler.seen_hosts == [f"news.example:{server}"]
