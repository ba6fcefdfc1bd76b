"""URL fetching (``app.ingest.fetch``) against a real HTTP server on loopback, and hostile targets.

The loopback server is reachable only because these tests allow 127.0.0.1 (``BRIEF_FETCH_ALLOW``
in the service); with no allow-list, every internal target is refused before any connection.
"""

from __future__ import annotations

import ipaddress
import socket
import time

import pytest

from app.errors import APIError
from app.ingest.fetch import FetchPolicy, fetch_page, is_public
from tests.pages import NEWS, Canary

LOOPBACK = FetchPolicy(allow=FetchPolicy.parse_allow("127.0.0.1"), timeout=3, connect_timeout=2)
STRICT = FetchPolicy()  # no allow-list: public addresses only


def refused(url: str, policy: FetchPolicy) -> APIError:
    with pytest.raises(APIError) as caught:
        fetch_page(url, policy)
    return caught.value


def test_an_allowed_page_is_fetched_whole(pages):
    page = fetch_page(pages.url + "/page/news", LOOPBACK)
    assert page.body == NEWS.encode() and page.charset == "utf-8"
    assert page.url == pages.url + "/page/news" and page.redirects == []


def test_a_redirect_chain_of_five_is_followed_and_a_sixth_is_refused(pages):
    page = fetch_page(pages.url + "/redirect/5", LOOPBACK)
    assert page.url == pages.url + "/page/news"
    assert page.redirects == [pages.url + f"/redirect/{n}" for n in (4, 3, 2, 1)] + [pages.url + "/page/news"]
    error = refused(pages.url + "/redirect/6", LOOPBACK)
    assert (error.status, error.code) == (502, "fetch_failed") and "redirects" in error.message


@pytest.mark.parametrize("target", ["http://10.0.0.1/", "http://169.254.169.254/latest/meta-data/",
                                    "http://[::1]:9/", "http://127.0.0.2:9/", "file:///etc/passwd"])
def test_a_redirect_to_an_internal_address_is_refused_before_it_is_contacted(pages, target):
    error = refused(f"{pages.url}/to/{target}", LOOPBACK)
    assert (error.status, error.code) == (422, "url_not_allowed")


def test_an_endless_body_is_cut_at_the_size_limit(pages):
    started = time.monotonic()
    error = refused(pages.url + "/endless", FetchPolicy(allow=LOOPBACK.allow, max_bytes=100_000))
    assert (error.status, error.code) == (413, "page_too_large")
    assert time.monotonic() - started < 3


def test_a_stalled_server_times_out(pages):
    started = time.monotonic()
    error = refused(pages.url + "/stall", FetchPolicy(allow=LOOPBACK.allow, timeout=1.5))
    assert (error.status, error.code) == (504, "fetch_timeout")
    assert 1.4 < time.monotonic() - started < 3.5


def test_a_pdf_is_refused_as_not_html(pages):
    error = refused(pages.url + "/paper.pdf", LOOPBACK)
    assert (error.status, error.code) == (415, "not_html") and "application/pdf" in error.message


def test_a_missing_page_is_a_failed_fetch(pages):
    error = refused(pages.url + "/nothing", LOOPBACK)
    assert (error.status, error.code) == (502, "fetch_failed") and "404" in error.message


def test_a_closed_port_is_a_failed_fetch():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again when the test fetches it
    error = refused(f"http://127.0.0.1:{port}/", LOOPBACK)
    assert (error.status, error.code) == (502, "fetch_failed")


# Every spelling of an internal target that the issue names, and more. {port} is the canary's.
FORBIDDEN = [
    "http://127.0.0.1:{port}/", "http://127.0.0.2:{port}/", "http://localhost:{port}/", "http://LocalHost:{port}/",
    "http://[::1]:{port}/", "http://[::ffff:127.0.0.1]:{port}/", "http://[::ffff:7f00:1]:{port}/",
    "http://2130706433:{port}/", "http://0x7f.1:{port}/", "http://0x7f000001:{port}/", "http://0177.0.0.1:{port}/",
    "http://017700000001:{port}/", "http://127.1:{port}/", "http://0.0.0.0:{port}/", "http://0:{port}/",
    "http://[::]:{port}/", "http://[0:0:0:0:0:0:0:1]:{port}/", "http://[64:ff9b::7f00:1]:{port}/",
    "http://[2002:7f00:1::]:{port}/", "https://127.0.0.1:{port}/",
    "http://10.0.0.1/", "http://10.255.255.254:8080/", "http://172.16.0.1/", "http://172.31.255.1/",
    "http://192.168.1.1/", "http://169.254.169.254/latest/meta-data/", "http://[fe80::1]/", "http://[fc00::1]/",
    "http://[fd00::1]/", "http://100.64.0.1/", "http://224.0.0.1/", "http://240.0.0.1/", "http://255.255.255.255/",
    "http://[ff02::1]/", "http://198.18.0.1/", "http://192.0.0.1/", "http://[::ffff:169.254.169.254]/",
    "http://[::ffff:10.0.0.1]/", "http://0xa9fea9fe/", "http://2852039166/",
    # not http(s), or not a URL a browser would send
    "file:///etc/passwd", "gopher://127.0.0.1:{port}/", "ftp://127.0.0.1:{port}/", "dict://127.0.0.1:{port}/",
    "javascript:alert(1)", "//127.0.0.1:{port}/", "127.0.0.1:{port}", "http://user:pass@127.0.0.1:{port}/",
    "http://example.com@127.0.0.1:{port}/", "http:///etc/passwd", "http://127.0.0.1 .example.com/",
    "http://[::1/", "http://127.0.0.1:99999/",
]


def test_every_internal_target_is_refused_before_any_connection(monkeypatch):
    connects = []
    real_connect = socket.socket.connect

    def spy(sock, address):  # records every TCP connect attempt made from Python
        connects.append(address)
        return real_connect(sock, address)

    monkeypatch.setattr(socket.socket, "connect", spy)
    with Canary() as canary:
        results = {}
        for url in FORBIDDEN:
            url = url.format(port=canary.port)
            try:
                fetch_page(url, STRICT)
                results[url] = "fetched"
            except APIError as e:
                results[url] = (e.status, e.code)
    assert len(FORBIDDEN) >= 20
    assert {url: r for url, r in results.items() if r != (422, "url_not_allowed")} == {}
    assert connects == [] and canary.accepted == 0


@pytest.mark.parametrize("address", ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "93.184.216.34"])
def test_public_addresses_are_public(address):
    assert is_public(ipaddress.ip_address(address))


def test_the_allow_list_takes_addresses_and_networks():
    assert FetchPolicy.parse_allow(" 127.0.0.1, 10.0.0.0/8 ,, ::1") == (
        ipaddress.ip_network("127.0.0.1/32"), ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("::1/128"))
    with pytest.raises(ValueError, match="BRIEF_FETCH_ALLOW"):
        FetchPolicy.parse_allow("not-an-address")


def test_an_allowed_network_lets_its_addresses_through_but_no_others(pages):
    policy = FetchPolicy(allow=FetchPolicy.parse_allow("10.0.0.0/8"))
    error = refused(pages.url + "/page/news", policy)  # 127.0.0.1 is not in 10/8
    assert error.code == "url_not_allowed"
