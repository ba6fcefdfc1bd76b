"""Fetch a web page for the service, safely: ``fetch_page(url, policy)``.

The service fetches only where ``BRIEF_FETCH_URLS`` is on, and then:

- http and https only, with no user name or password in the URL;
- every address the host name resolves to must be public (not loopback, private, shared,
  link-local, cloud metadata, multicast, reserved or unspecified; IPv4 and IPv6 alike, and the
  IPv4 address inside IPv4-mapped, 6to4, Teredo and NAT64 IPv6 addresses), unless it lies in an
  allowed network (``BRIEF_FETCH_ALLOW``). Numeric hosts in any spelling (``2130706433``,
  ``0x7f.1``, ``0177.0.0.1``, ``127.1``) are read the way the system's resolver reads them, so
  they are checked as the address they mean;
- the connection goes to the address that was checked: the name is resolved once, and the socket
  is opened to that address (TLS still checks the certificate against the name);
- every redirect target is checked the same way before it is contacted; at most 5 redirects;
- a connect timeout and a total timeout for the whole fetch, redirects included (a watchdog
  closes the socket at the deadline, so a server trickling bytes cannot hold the request);
- at most ``max_bytes`` of body (413), and only HTML (415).

Each refusal is an ``APIError``: 422 ``url_not_allowed``, 502 ``fetch_failed``, 504
``fetch_timeout``, 413 ``page_too_large``, 415 ``not_html``.
"""

from __future__ import annotations

import http.client
import ipaddress
import re
import socket
import ssl
import threading
import time
from dataclasses import dataclass, field
from typing import Iterable
from urllib.parse import urljoin, urlsplit

from app.errors import APIError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

HTML_TYPES = ("text/html", "application/xhtml+xml")
REDIRECTS = (301, 302, 303, 307, 308)
NAT64 = ipaddress.ip_network("64:ff9b::/96")  # IPv4 addresses translated into IPv6
USER_AGENT = "Brief/0.1 (article highlighter; +https://github.com/)"
_HOST_NAME = re.compile(r"^[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*\.?$")


@dataclass(frozen=True)
class FetchPolicy:
    """What the fetcher may reach and how much it may read."""

    allow: tuple[IPNetwork, ...] = ()  # networks reachable although not public (tests, an intranet)
    max_bytes: int = 2 << 20  # body bytes; more is refused (413)
    connect_timeout: float = 5.0  # seconds to open a connection
    timeout: float = 15.0  # seconds for the whole fetch, redirects included (504 beyond)
    max_redirects: int = 5

    @staticmethod
    def parse_allow(value: str | Iterable[str]) -> tuple[IPNetwork, ...]:
        """``"127.0.0.1, 10.0.0.0/8"`` (comma-separated addresses or networks) as networks."""
        items = value.split(",") if isinstance(value, str) else value
        try:
            return tuple(ipaddress.ip_network(item.strip(), strict=False) for item in items if item.strip())
        except ValueError as e:
            raise ValueError(f"BRIEF_FETCH_ALLOW: {e}") from e


@dataclass
class FetchedPage:
    url: str  # after redirects
    body: bytes
    charset: str | None  # from the Content-Type header, if it named one
    redirects: list[str] = field(default_factory=list)

    def html(self) -> str | bytes:
        """The page as text where its charset is known and valid, else its bytes (the extractor then detects it)."""
        if self.charset:
            try:
                return self.body.decode(self.charset, errors="replace")
            except LookupError:
                pass
        return self.body


@dataclass(frozen=True)
class Target:
    """A URL that passed every check, with the addresses its host resolved to (all allowed)."""

    url: str
    scheme: str
    host: str
    port: int
    path: str  # path and query, as sent in the request line
    addresses: tuple[IPAddress, ...]


def not_allowed(url: str, why: str) -> APIError:
    return APIError(422, "url_not_allowed", f"{why}: {url[:200]}")


def embedded_ipv4(ip: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries (IPv4-mapped, 6to4, Teredo's client, NAT64), if any."""
    if ip.version != 6:
        return None
    if ip.ipv4_mapped:
        return ip.ipv4_mapped
    if ip.sixtofour:
        return ip.sixtofour
    if ip.teredo:
        return ip.teredo[1]
    if ip in NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def is_public(ip: IPAddress) -> bool:
    """Whether an address is on the public internet (and so is any IPv4 address it carries)."""
    inner = embedded_ipv4(ip)
    if inner is not None and not is_public(inner):
        return False
    return ip.is_global and not (ip.is_multicast or ip.is_reserved or ip.is_loopback or ip.is_link_local
                                 or ip.is_private or ip.is_unspecified)


def is_allowed(ip: IPAddress, policy: FetchPolicy) -> bool:
    plain = ip.ipv4_mapped or ip if ip.version == 6 else ip
    return any(plain in net for net in policy.allow) or is_public(ip)


def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address ``host`` resolves to: an IP literal as itself, a name (or a numeric spelling) by the system resolver."""
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as e:
        raise APIError(502, "fetch_failed", f"the name {host} could not be resolved: {e}") from e
    addresses = []
    for *_, sockaddr in infos:
        ip = ipaddress.ip_address(sockaddr[0].split("%")[0])
        if ip not in addresses:
            addresses.append(ip)
    return addresses


def check_url(url: str, policy: FetchPolicy) -> Target:
    """Every check that needs no connection; ``url_not_allowed`` (422) for any that fails."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as e:
        raise not_allowed(url, f"not a valid URL ({e})") from e
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise not_allowed(url, f"only http and https URLs are fetched, not {scheme or 'a URL without a scheme'}")
    if parts.username is not None or parts.password is not None:
        raise not_allowed(url, "URLs with a user name or password are not fetched")
    host = parts.hostname or ""
    if not host:
        raise not_allowed(url, "the URL has no host")
    if not host.startswith("[") and ":" not in host:  # a name (or a numeric IPv4 spelling), not an IPv6 literal
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError as e:
            raise not_allowed(url, "the host is not a valid name") from e
        if not _HOST_NAME.match(host):
            raise not_allowed(url, "the host is not a valid name")
    port = port or (443 if scheme == "https" else 80)
    addresses = resolve(host, port)
    if not addresses:
        raise APIError(502, "fetch_failed", f"the name {host} resolved to no address")
    refused = [str(ip) for ip in addresses if not is_allowed(ip, policy)]
    if refused == [host]:
        raise not_allowed(url, f"{host} is not a public address")
    if refused:
        raise not_allowed(url, f"{host} resolves to an address that is not public ({', '.join(refused)})")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(url, scheme, host, port, path, tuple(addresses))


class Deadline:
    """Closes the open socket when the fetch's time is up, so a blocked read ends at once."""

    def __init__(self, seconds: float):
        self.end = time.monotonic() + seconds
        self.expired = False
        self._sock: socket.socket | None = None
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    def left(self) -> float:
        return max(0.0, self.end - time.monotonic())

    def watch(self, sock: socket.socket | None) -> None:
        with self._lock:
            self._sock = sock

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            if self._sock is not None:
                try:
                    self._sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def __enter__(self) -> "Deadline":
        self._timer.start()
        return self

    def __exit__(self, *exc) -> None:
        self._timer.cancel()


def fetch_page(url: str, policy: FetchPolicy) -> FetchedPage:
    """GET ``url`` and follow up to ``policy.max_redirects`` redirects, checking every hop before contacting it."""
    redirects: list[str] = []
    with Deadline(policy.timeout) as deadline:
        target = check_url(url, policy)
        while True:
            try:
                page = get(target, policy, deadline)
            except (socket.timeout, TimeoutError) as e:
                raise APIError(504, "fetch_timeout", f"{target.host} did not answer within the time limit") from e
            except (OSError, http.client.HTTPException) as e:
                if deadline.expired:
                    raise APIError(504, "fetch_timeout",
                                   f"the page did not arrive within {policy.timeout:g} seconds") from e
                raise APIError(502, "fetch_failed", f"fetching {target.host} failed: {describe(e)}") from e
            if isinstance(page, FetchedPage):
                page.redirects = redirects
                return page
            if len(redirects) == policy.max_redirects:
                raise APIError(502, "fetch_failed", f"more than {policy.max_redirects} redirects")
            redirects.append(page)
            target = check_url(page, policy)


def get(target: Target, policy: FetchPolicy, deadline: Deadline) -> FetchedPage | str:
    """One GET to the checked addresses: the page, or the URL a redirect points to."""
    connection = open_connection(target, policy, deadline)
    try:
        connection.putrequest("GET", target.path, skip_accept_encoding=True)
        for name, value in (("User-Agent", USER_AGENT), ("Accept", "text/html,application/xhtml+xml;q=0.9"),
                            ("Accept-Encoding", "identity"), ("Connection", "close")):
            connection.putheader(name, value)
        connection.endheaders()
        response = connection.getresponse()
        if response.status in REDIRECTS and response.getheader("Location"):
            return urljoin(target.url, response.getheader("Location").strip())
        if response.status != 200:
            raise APIError(502, "fetch_failed", f"the page answered {response.status} {response.reason}".strip())
        content_type = response.headers.get_content_type() if response.getheader("Content-Type") else None
        if content_type not in HTML_TYPES:
            raise APIError(415, "not_html", f"the page is {content_type or 'of no stated type'}, not HTML")
        encoding = (response.getheader("Content-Encoding") or "identity").strip().lower()
        if encoding != "identity":
            raise APIError(502, "fetch_failed", f"the page came {encoding}-encoded, though Brief asked for none")
        too_large = APIError(413, "page_too_large", f"the page is larger than the limit of {policy.max_bytes} bytes")
        length = response.getheader("Content-Length")
        if length and length.strip().isdigit() and int(length) > policy.max_bytes:
            raise too_large
        chunks, size = [], 0
        while chunk := response.read(min(65536, policy.max_bytes + 1 - size)):
            chunks.append(chunk)
            size += len(chunk)
            if size > policy.max_bytes:
                raise too_large
        if deadline.expired:  # the watchdog ended the read: the body is cut short
            raise TimeoutError
        return FetchedPage(target.url, b"".join(chunks), response.headers.get_content_charset())
    finally:
        connection.close()
        deadline.watch(None)


def open_connection(target: Target, policy: FetchPolicy, deadline: Deadline) -> http.client.HTTPConnection:
    """A connection to the first checked address that answers (the name is not looked up again)."""
    timeout = min(policy.connect_timeout, deadline.left())
    if target.scheme == "https":
        connection = http.client.HTTPSConnection(target.host, target.port, timeout=timeout,
                                                 context=ssl.create_default_context())
    else:
        connection = http.client.HTTPConnection(target.host, target.port, timeout=timeout)

    def connect_checked(_address, timeout, source_address=None):
        error: OSError | None = None
        for ip in target.addresses:
            ip = ip.ipv4_mapped or ip if ip.version == 6 else ip
            try:
                sock = socket.create_connection((str(ip), target.port), min(timeout, deadline.left() or 0.001),
                                                source_address)
            except OSError as e:
                error = e
                continue
            sock.settimeout(max(deadline.left(), 0.001))  # reads: bounded by the watchdog as well
            deadline.watch(sock)
            return sock
        raise error or OSError("no address to connect to")

    connection._create_connection = connect_checked  # http.client's hook for opening the socket
    connection.connect()
    return connection


def describe(e: Exception) -> str:
    if isinstance(e, ssl.SSLCertVerificationError):
        return f"its TLS certificate is not valid ({e.verify_message})"
    return f"{type(e).__name__}: {e}" if str(e) else type(e).__name__
