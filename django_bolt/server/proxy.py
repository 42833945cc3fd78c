"""Client address and scheme behind trusted reverse proxies.

Forwarding headers are believed only when the TCP peer is a trusted proxy; otherwise a client
could claim any address (and, for instance, mint fresh rate-limit buckets) by sending them.
"""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from django_bolt.server.config import TrustedProxies

__all__ = ("FORWARDING_HEADERS", "resolve_forwarded")

X_FORWARDED_FOR: Final = b"x-forwarded-for"
X_FORWARDED_PROTO: Final = b"x-forwarded-proto"
X_REAL_IP: Final = b"x-real-ip"
FORWARDING_HEADERS: Final = frozenset({X_FORWARDED_FOR, X_FORWARDED_PROTO, X_REAL_IP})
_SCHEMES: Final = frozenset({"http", "https", "ws", "wss"})


def resolve_forwarded(
    forwarded: list[tuple[bytes, bytes]],
    peer: tuple[str, int] | None,
    scheme: str,
    trusted: TrustedProxies,
) -> tuple[tuple[str, int] | None, str]:
    """Return the client and scheme after applying ``forwarded`` (lower-case name, value) pairs.

    X-Forwarded-For is read right to left: each hop appends the address it saw, so the
    right-most address that is not itself a trusted proxy is the first one nobody we trust could
    have forged. X-Real-IP is used when X-Forwarded-For is absent.
    """
    client = peer
    hops: list[str] = []
    real_ip: str | None = None
    for name, value in forwarded:
        text = value.decode("latin-1")
        if name == X_FORWARDED_FOR:
            hops.extend(h.strip() for h in text.split(","))
        elif name == X_REAL_IP:
            real_ip = text.strip()
        elif name == X_FORWARDED_PROTO:
            # Several proxies may each append; the last one is the hop that talked to us.
            proto = text.rsplit(",", 1)[-1].strip().lower()
            if proto in _SCHEMES:
                scheme = proto
    hops = [h for h in hops if h]
    claimed: str | None = None
    if hops:
        claimed = hops[0]
        for hop in reversed(hops):
            if _strip_port(hop) not in trusted:
                claimed = hop
                break
    elif real_ip:
        claimed = real_ip
    if claimed is not None:
        address = _strip_port(claimed)
        # "unknown" or an obfuscated name (RFC 7239 section 6) is no address: keep the peer
        # rather than hand code that expects an IP something else.
        if _is_ip(address):
            client = (address, 0)
    return client, scheme


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _strip_port(hop: str) -> str:
    """``1.2.3.4:80`` -> ``1.2.3.4``; ``[::1]:80`` -> ``::1``; bare IPv6 stays as is."""
    if hop.startswith("["):
        end = hop.find("]")
        return hop[1:end] if end > 0 else hop
    if hop.count(":") == 1:
        return hop.split(":", 1)[0]
    return hop
