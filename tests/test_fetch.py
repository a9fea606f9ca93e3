"""The guarded opener: http(s) only, allowed addresses only, on every connection."""

from __future__ import annotations

import socket
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from index.fetch import guarded_opener, is_public
from tests.web_pages import LIGHTHOUSE_HTML, Listener, WebPages


@pytest.fixture
def web() -> Iterator[WebPages]:
    pages = WebPages()
    yield pages
    pages.close()


def loopback(address: str) -> bool:
    """127.0.0.1 plays a public host; other loopback addresses, the private network."""
    return address == "127.0.0.1"


def test_a_proxy_cannot_carry_a_fetch_to_a_private_address(
    web: WebPages, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 127.0.0.1 (a proxy here) plays a public host, 127.0.0.2 the private network. Through the
    # proxy, only the proxy's address could be checked: the guarded fetch goes direct instead.
    monkeypatch.setenv("http_proxy", web.url(""))
    monkeypatch.setenv("no_proxy", "")
    opener = guarded_opener(loopback)
    with pytest.raises(urllib.error.URLError, match=r"127\.0\.0\.2, a loopback"):
        opener.open("http://127.0.0.2:9/admin", timeout=5)
    assert web.requested == []  # the proxy was never asked


def test_every_connection_is_checked_redirects_included(web: WebPages) -> None:
    # Stand-ins on two loopback addresses: 127.0.0.1 plays a public site, 127.0.0.2 the private
    # network it redirects to.
    inner = WebPages("127.0.0.2")
    try:
        target = inner.add("/admin", LIGHTHOUSE_HTML)
        url = web.redirect("/short", target)
        opener = guarded_opener(loopback)
        with pytest.raises(urllib.error.URLError, match=r"127\.0\.0\.2, a loopback"):
            opener.open(url, timeout=5)
        assert web.requested == ["/short"] and inner.requested == []
        with urllib.request.urlopen(url, timeout=5) as page:  # an unguarded fetch goes there
            assert b"Gull Island" in page.read()
        assert inner.requested == ["/admin"]
    finally:
        inner.close()


@pytest.mark.parametrize("scheme", ["ftp", "file", "data"])
def test_the_guarded_opener_fetches_web_addresses_only(tmp_path: Path, scheme: str) -> None:
    secret = tmp_path / "secret.html"
    secret.write_text(LIGHTHOUSE_HTML)
    ftp = Listener()
    url = {
        "ftp": f"ftp://127.0.0.1:{ftp.port}/x",
        "file": secret.as_uri(),
        "data": "data:text/html,<p>hello</p>",
    }[scheme]
    try:
        with pytest.raises(OSError, match=r"was refused: I only fetch http:// and https://"):
            guarded_opener(allowed=lambda address: True).open(url, timeout=2.0)
        assert not ftp.connected()
    finally:
        ftp.close()


def test_a_redirect_to_another_scheme_is_refused_without_connecting(web: WebPages) -> None:
    ftp = Listener()
    try:
        url = web.redirect("/story", f"ftp://127.0.0.1:{ftp.port}/x")
        with pytest.raises(OSError, match=r"a redirect to ftp://.* was refused"):
            guarded_opener(allowed=lambda address: True).open(url, timeout=2.0)
        assert web.requested == ["/story"] and not ftp.connected()
    finally:
        ftp.close()


def test_a_name_is_connected_to_at_the_address_that_was_checked(
    web: WebPages, monkeypatch: pytest.MonkeyPatch
) -> None:
    # DNS rebinding: the name answers a public address (127.0.0.1 plays one) when checked, then
    # a private one (127.0.0.2). The connection must go to the address that was checked.
    port = int(web.url("").rsplit(":", 1)[1])
    inner = Listener("127.0.0.2", port)
    answers = iter(["127.0.0.1"] + ["127.0.0.2"] * 10)
    resolve = socket.getaddrinfo

    def rebinding(host: object, *args: object, **kwargs: object) -> object:
        if host != "rebind.test":
            return resolve(host, *args, **kwargs)  # type: ignore[arg-type]
        address = next(answers)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    web.add("/news", LIGHTHOUSE_HTML)
    try:
        with guarded_opener(loopback).open(f"http://rebind.test:{port}/news", timeout=5) as page:
            assert b"Gull Island" in page.read()
        assert not inner.connected()
    finally:
        inner.close()


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "192.168.0.10",
        "172.16.5.4",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",
        "::1",
        "fe80::1%eth0",
        "fd00::1",
        "::ffff:127.0.0.1",
        "224.0.0.1",
        "::127.0.0.1",  # IPv4-compatible
        "::ffff:0:7f00:1",  # IPv4-translated (SIIT)
        "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
        "64:ff9b::a00:1",  # NAT64 of 10.0.0.1
        "64:ff9b:1::a00:1",  # local-use NAT64
        "2002:7f00:1::1",  # 6to4 of 127.0.0.1
        "2002:a9fe:a9fe::1",  # 6to4 of 169.254.169.254
        "fec0::1",  # site-local
        "ff02::1",
    ],
)
def test_non_public_addresses(address: str) -> None:
    assert not is_public(address)


@pytest.mark.parametrize(
    "address",
    [
        "93.184.216.34",
        "2606:2800:220:1:248:1893:25c8:1946",
        "64:ff9b::5db8:d822",  # NAT64 of 93.184.216.34
        "2002:5db8:d822::1",  # 6to4 of 93.184.216.34
    ],
)
def test_public_addresses(address: str) -> None:
    assert is_public(address)
