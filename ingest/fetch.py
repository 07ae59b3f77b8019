"""Fetch a page, a feed or an export over HTTP(S), safely.

- only http and https;
- the host is resolved once, every address it resolves to is checked (private, loopback,
  link-local, multicast, reserved, unspecified and other non-public networks are refused,
  IPv4 and IPv6, IPv4-mapped / 6to4 / Teredo IPv6 included) unless `allow_private`, and the
  connection goes to the checked address (the URL's host travels in the Host header and, for
  HTTPS, as SNI and as the name the certificate must match): a DNS answer that changes between
  the check and the connection (DNS rebinding) cannot redirect the request;
- redirects are followed here, at most 5, each hop checked again (scheme and addresses);
- connect and read timeouts, and a deadline for the whole fetch;
- the body is streamed (decompressed) and cut with an error beyond `max_bytes`;
- a content type not in `accept` is refused before the body is read;
- proxies from the environment are ignored (a proxy would make the address check moot);
- conditional requests: `headers` may carry If-None-Match / If-Modified-Since; 304 gives
  `not_modified=True` and an empty body.
"""

from __future__ import annotations

import ipaddress
import socket
import time
from dataclasses import dataclass
from urllib.parse import urljoin

import httpx

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

ACCEPT = (
    "text/html",
    "application/xhtml+xml",
    "application/rss+xml",
    "application/atom+xml",
    "application/rdf+xml",
    "application/xml",
    "text/xml",
    "application/json",
    "application/x-ndjson",
    "application/jsonl",
    "text/plain",
    "text/markdown",
)
MAX_REDIRECTS = 5
REDIRECTS = {301, 302, 303, 307, 308}
USER_AGENT = "ragkit/0.1 (news reader)"
ALLOW_HINT = "set RAG_ALLOW_PRIVATE_URLS=true to allow"


class FetchError(OSError):
    """A URL that could not be fetched; the message names the URL and the reason."""


@dataclass(frozen=True)
class Fetched:
    url: str  # as asked
    final_url: str  # after redirects
    status: int
    content_type: str  # the header as sent, parameters included ("text/html; charset=utf-8")
    body: bytes
    etag: str = ""
    last_modified: str = ""
    not_modified: bool = False

    @property
    def media_type(self) -> str:
        return self.content_type.split(";")[0].strip().lower()

    @property
    def charset(self) -> str:
        for param in self.content_type.split(";")[1:]:
            key, _, value = param.partition("=")
            if key.strip().lower() == "charset":
                return value.strip().strip("\"'")
        return ""


def address_problem(address: IPAddress) -> str | None:
    """Why an address must not be fetched ("a loopback address", ...), None if it is public."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour or (address.teredo or (None, None))[1]
        if embedded is not None:
            problem = address_problem(embedded)
            return f"{problem} (inside {address})" if problem else None
    checks = (
        ("is_unspecified", "an unspecified address"),
        ("is_loopback", "a loopback address"),
        ("is_link_local", "a link-local address"),
        ("is_multicast", "a multicast address"),
        ("is_private", "a private address"),
        ("is_reserved", "a reserved address"),
    )
    for attribute, reason in checks:
        if getattr(address, attribute):
            return reason
    return None if address.is_global else "not a public address"


def resolve(host: str, port: int) -> list[IPAddress]:
    """The addresses of `host` (an IP literal is its own address), in the resolver's order."""
    try:
        return [ipaddress.ip_address(host.strip("[]"))]
    except ValueError:
        pass
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    # scope ids ("fe80::1%eth0") are cut: the check is on the address itself
    return list(
        dict.fromkeys(ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos)
    )


def _checked_addresses(
    url: str, named: str, allow_private: bool
) -> tuple[httpx.URL, list[IPAddress]]:
    """The URL's parts and its host's addresses, all allowed; `named` names it in errors."""
    try:
        parts = httpx.URL(url)
    except httpx.InvalidURL as err:
        raise FetchError(f"{named}: not a valid URL: {err}") from None
    if parts.scheme not in ("http", "https"):
        raise FetchError(f"{named}: refused: only http and https URLs can be fetched")
    if not parts.host:
        raise FetchError(f"{named}: no host in the URL")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        addresses = resolve(parts.host, port)
    except (socket.gaierror, UnicodeError) as err:
        raise FetchError(f"{named}: cannot resolve {parts.host}: {err}") from None
    if not allow_private:
        for address in addresses:
            problem = address_problem(address)
            if problem:
                raise FetchError(f"{named}: refused: {address} is {problem} ({ALLOW_HINT})")
    return parts, addresses


def _by_address(parts: httpx.URL, address: IPAddress) -> tuple[httpx.URL, str]:
    """The URL with the checked address in place of the host, and the Host header."""
    host = f"[{address}]" if address.version == 6 else str(address)
    default_port = 443 if parts.scheme == "https" else 80
    host_header = parts.host if parts.port in (None, default_port) else f"{parts.host}:{parts.port}"
    if ":" in parts.host:  # an IPv6 literal
        host_header = f"[{parts.host}]" + (f":{parts.port}" if parts.port else "")
    return parts.copy_with(host=host.strip("[]")), host_header


def fetch(
    url: str,
    *,
    allow_private: bool = False,
    timeout: float = 10.0,
    max_bytes: int = 10_000_000,
    accept: tuple[str, ...] = ACCEPT,
    headers: dict[str, str] | None = None,
    total_timeout: float = 60.0,
) -> Fetched:
    """GET `url` with the safety rules of this module. Raises FetchError naming the URL and
    the reason (refused address or scheme, timeout, size, content type, HTTP status)."""
    deadline = time.monotonic() + total_timeout
    # case-insensitive: a caller's "user-agent" replaces ours instead of doubling it
    request_headers = httpx.Headers({"User-Agent": USER_AGENT, "Accept": ", ".join(accept)})
    request_headers.update({k: v for k, v in (headers or {}).items() if k.lower() != "host"})
    current = url
    with httpx.Client(
        timeout=httpx.Timeout(timeout), follow_redirects=False, trust_env=False
    ) as client:
        for _hop in range(MAX_REDIRECTS + 1):
            named = current if current == url else f"{current} (redirected from {url})"
            if time.monotonic() > deadline:
                raise FetchError(f"{named}: not fetched within {total_timeout:g} s")
            response = _get(client, current, named, request_headers, allow_private, timeout)
            try:
                if response.status_code in REDIRECTS and response.headers.get("location"):
                    current = urljoin(current, response.headers["location"])
                    continue
                return _read(response, url, current, named, accept, max_bytes, deadline, timeout)
            finally:
                response.close()
    raise FetchError(f"{url}: too many redirects (more than {MAX_REDIRECTS})")


def _get(
    client: httpx.Client,
    url: str,
    named: str,
    headers: httpx.Headers,
    allow_private: bool,
    timeout: float,
) -> httpx.Response:
    parts, addresses = _checked_addresses(url, named, allow_private)
    last_error: Exception | None = None
    for address in addresses:  # the next address when one does not answer
        target, host_header = _by_address(parts, address)
        extensions = {"sni_hostname": parts.host} if parts.scheme == "https" else {}
        request = client.build_request(
            "GET", target, headers={**dict(headers), "Host": host_header}, extensions=extensions
        )
        try:
            return client.send(request, stream=True)
        except httpx.TimeoutException:
            raise FetchError(f"{named}: timed out after {timeout:g} s") from None
        except httpx.ConnectError as err:
            last_error = err
        except httpx.HTTPError as err:
            raise FetchError(f"{named}: {type(err).__name__}: {err}") from None
    raise FetchError(f"{named}: cannot connect: {last_error}")


def _read(
    response: httpx.Response,
    url: str,
    final_url: str,
    named: str,
    accept: tuple[str, ...],
    max_bytes: int,
    deadline: float,
    timeout: float,
) -> Fetched:
    content_type = response.headers.get("content-type", "")
    common = dict(
        url=url,
        final_url=final_url,
        status=response.status_code,
        content_type=content_type,
        etag=response.headers.get("etag", ""),
        last_modified=response.headers.get("last-modified", ""),
    )
    if response.status_code == 304:
        return Fetched(body=b"", not_modified=True, **common)
    if not 200 <= response.status_code < 300:
        raise FetchError(f"{named}: HTTP {response.status_code}")
    media_type = content_type.split(";")[0].strip().lower()
    if media_type not in accept:
        shown = media_type or "(none)"
        raise FetchError(f"{named}: content type {shown} is not a page, feed or export")
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise FetchError(
            f"{named}: {int(declared):,} bytes, larger than the {max_bytes:,}-byte limit"
        )
    body = bytearray()
    try:
        for chunk in response.iter_bytes():
            body += chunk
            if len(body) > max_bytes:
                raise FetchError(
                    f"{named}: more than {max_bytes:,} bytes, larger than the "
                    f"{max_bytes:,}-byte limit"
                )
            if time.monotonic() > deadline:
                raise FetchError(
                    f"{named}: not downloaded within the deadline ({len(body):,} bytes read)"
                )
    except httpx.TimeoutException:
        raise FetchError(f"{named}: timed out after {timeout:g} s") from None
    except httpx.HTTPError as err:
        raise FetchError(f"{named}: {type(err).__name__}: {err}") from None
    return Fetched(body=bytes(body), **common)
