"""Client address and scheme behind trusted proxies (issue 2, section 5).

Unit tests of TrustedProxies and resolve_forwarded, then the same rules through the protocol
with a fake peer address.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from django_bolt.server.config import ServerConfig, ServerConfigError, TrustedProxies
from django_bolt.server.proxy import resolve_forwarded

if TYPE_CHECKING:
    from collections.abc import Callable

    from tests.server.conftest import Driver

DEFAULT = TrustedProxies.parse(ServerConfig().forwarded_allow_ips)
LOCAL_PEER = ("127.0.0.1", 40000)
REMOTE_PEER = ("203.0.113.5", 40000)

FORWARDED = (
    b"GET /a HTTP/1.1\r\nHost: t\r\n"
    b"X-Forwarded-For: 198.51.100.7, 10.0.0.2\r\n"
    b"X-Forwarded-Proto: https\r\n\r\n"
)
REAL_IP = b"GET /a HTTP/1.1\r\nHost: t\r\nX-Real-IP: 198.51.100.8\r\n\r\n"
BOTH = (
    b"GET /a HTTP/1.1\r\nHost: t\r\nX-Real-IP: 198.51.100.8\r\n"
    b"X-Forwarded-For: 198.51.100.9\r\n\r\n"
)
SPOOF_UNDERSCORE = b"GET /a HTTP/1.1\r\nHost: t\r\nX_Forwarded_For: 6.6.6.6\r\n\r\n"


# --- TrustedProxies ------------------------------------------------------------------------------


def test_default_trusts_loopback_only() -> None:
    assert ServerConfig().forwarded_allow_ips.replace(" ", "") == "127.0.0.1,::1"
    assert "127.0.0.1" in DEFAULT
    assert "::1" in DEFAULT
    assert "127.0.0.2" not in DEFAULT
    assert "203.0.113.5" not in DEFAULT
    assert None not in DEFAULT


def test_cidr_ranges() -> None:
    trusted = TrustedProxies.parse("10.0.0.0/8, 2001:db8::/32")
    assert "10.1.2.3" in trusted
    assert "11.0.0.1" not in trusted
    assert "2001:db8::5" in trusted
    assert "2001:db9::5" not in trusted
    assert "not-an-ip" not in trusted


def test_star_trusts_all() -> None:
    trusted = TrustedProxies.parse("*")
    assert "203.0.113.5" in trusted
    assert "anything" in trusted


def test_a_bad_entry_is_a_configuration_error() -> None:
    with pytest.raises(ServerConfigError, match="not an IP"):
        TrustedProxies.parse("127.0.0.1, nope")


def test_addresses_are_normalised() -> None:
    trusted = TrustedProxies.parse("0:0:0:0:0:0:0:1")
    assert "::1" in trusted


# --- resolve_forwarded ---------------------------------------------------------------------------


def resolve(
    headers: list[tuple[bytes, bytes]],
    trusted: TrustedProxies = DEFAULT,
    peer: tuple[str, int] | None = LOCAL_PEER,
) -> tuple[tuple[str, int] | None, str]:
    return resolve_forwarded(headers, peer, "http", trusted)


def test_xff_right_most_untrusted_address() -> None:
    trusted = TrustedProxies.parse("127.0.0.1, 10.0.0.0/8")
    headers = [(b"x-forwarded-for", b"1.1.1.1, 198.51.100.7, 10.0.0.2, 10.0.0.3")]
    assert resolve(headers, trusted) == (("198.51.100.7", 0), "http")


def test_xff_every_hop_trusted_gives_the_left_most() -> None:
    trusted = TrustedProxies.parse("127.0.0.1, 10.0.0.0/8")
    assert resolve([(b"x-forwarded-for", b"10.0.0.9, 10.0.0.2")], trusted)[0] == ("10.0.0.9", 0)


def test_xff_split_over_several_fields_is_one_list() -> None:
    headers = [(b"x-forwarded-for", b"198.51.100.1"), (b"x-forwarded-for", b"198.51.100.2")]
    assert resolve(headers)[0] == ("198.51.100.2", 0)


def test_xff_ports_and_bracketed_ipv6_are_stripped() -> None:
    assert resolve([(b"x-forwarded-for", b"198.51.100.7:5555")])[0] == ("198.51.100.7", 0)
    assert resolve([(b"x-forwarded-for", b"[2001:db8::7]:443")])[0] == ("2001:db8::7", 0)
    assert resolve([(b"x-forwarded-for", b"2001:db8::7")])[0] == ("2001:db8::7", 0)


def test_empty_xff_keeps_the_peer() -> None:
    assert resolve([(b"x-forwarded-for", b" , ")]) == (LOCAL_PEER, "http")


def test_x_forwarded_proto_last_value_and_only_known_schemes() -> None:
    assert resolve([(b"x-forwarded-proto", b"HTTPS")])[1] == "https"
    assert resolve([(b"x-forwarded-proto", b"http, https")])[1] == "https"
    assert resolve([(b"x-forwarded-proto", b"javascript")])[1] == "http"


def test_x_real_ip_when_there_is_no_xff() -> None:
    assert resolve([(b"x-real-ip", b"198.51.100.8")])[0] == ("198.51.100.8", 0)
    both = [(b"x-real-ip", b"198.51.100.8"), (b"x-forwarded-for", b"198.51.100.9")]
    assert resolve(both)[0] == ("198.51.100.9", 0)


# --- through the protocol ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("request_bytes", "client", "scheme"),
    [
        pytest.param(FORWARDED, ("10.0.0.2", 0), "https", id="xff-and-proto"),
        pytest.param(REAL_IP, ("198.51.100.8", 0), "http", id="x-real-ip"),
        pytest.param(BOTH, ("198.51.100.9", 0), "http", id="xff-wins-over-real-ip"),
    ],
)
def test_forwarding_headers_are_honoured_from_a_trusted_peer(
    make: Callable[..., Driver],
    request_bytes: bytes,
    client: tuple[str, int],
    scheme: str,
) -> None:
    d = make(peername=LOCAL_PEER)
    d.feed(request_bytes)
    request = d.app.seen[0]
    assert (request.client, request.scheme) == (client, scheme)
    # The headers themselves still reach the application.
    assert any(n.lower().startswith(b"x-") for n, _ in request.raw_headers)


@pytest.mark.parametrize(
    "request_bytes",
    [
        pytest.param(FORWARDED, id="xff-and-proto"),
        pytest.param(REAL_IP, id="x-real-ip"),
        pytest.param(BOTH, id="both"),
    ],
)
def test_forwarding_headers_are_ignored_from_an_untrusted_peer(
    make: Callable[..., Driver], request_bytes: bytes
) -> None:
    d = make(peername=REMOTE_PEER)
    d.feed(request_bytes)
    request = d.app.seen[0]
    assert (request.client, request.scheme) == (REMOTE_PEER, "http")


def test_cidr_trusted_peer_through_the_protocol(make: Callable[..., Driver]) -> None:
    d = make(peername=("10.1.2.3", 1), forwarded_allow_ips="10.0.0.0/8")
    d.feed(FORWARDED)
    # 10.0.0.2 is itself inside the trusted range, so the next hop to the left is the client.
    assert d.app.seen[0].client == ("198.51.100.7", 0)
    assert d.app.seen[0].scheme == "https"


def test_star_trusts_any_peer_through_the_protocol(make: Callable[..., Driver]) -> None:
    d = make(peername=REMOTE_PEER, forwarded_allow_ips="*")
    d.feed(REAL_IP)
    assert d.app.seen[0].client == ("198.51.100.8", 0)


def test_each_request_on_a_connection_is_resolved_on_its_own(make: Callable[..., Driver]) -> None:
    d = make(peername=LOCAL_PEER)
    d.feed(FORWARDED + b"GET /b HTTP/1.1\r\nHost: t\r\n\r\n")
    first, second = d.app.seen
    assert (first.client, first.scheme) == (("10.0.0.2", 0), "https")
    assert (second.client, second.scheme) == (LOCAL_PEER, "http")


def test_underscore_spelling_cannot_smuggle_a_forwarded_address(
    make: Callable[..., Driver],
) -> None:
    d = make(peername=LOCAL_PEER)
    d.feed(SPOOF_UNDERSCORE)
    request = d.app.seen[0]
    assert request.client == LOCAL_PEER
    assert request.raw_headers == [(b"Host", b"t")]


@pytest.mark.parametrize(
    "header",
    [
        pytest.param((b"x-forwarded-for", b"unknown"), id="xff-unknown"),
        pytest.param((b"x-forwarded-for", b"_hidden, 10.9.9.9"), id="xff-obfuscated"),
        pytest.param((b"x-real-ip", b"not an address"), id="real-ip-garbage"),
    ],
)
def test_a_forwarded_value_that_is_no_address_keeps_the_peer(
    header: tuple[bytes, bytes],
) -> None:
    trusted = TrustedProxies.parse("127.0.0.1, 10.0.0.0/8")
    assert resolve([header], trusted)[0] == LOCAL_PEER


def test_ipv4_mapped_peer_is_trusted_like_its_ipv4_address() -> None:
    assert "::ffff:127.0.0.1" in DEFAULT
    assert "::FFFF:10.1.2.3" in TrustedProxies.parse("10.0.0.0/8")
    assert "::ffff:203.0.113.5" not in DEFAULT
