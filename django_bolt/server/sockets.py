"""Listening sockets: probe the address once, then one SO_REUSEPORT socket per worker slot.

The probe binds *without* SO_REUSEPORT, so a port held by anything else (another runbolt
included, whose sockets all carry SO_REUSEPORT) is refused with EADDRINUSE instead of silently
sharing its traffic. It also turns port 0 into the real port every slot then binds.
"""

from __future__ import annotations

import errno
import socket
from typing import Final

__all__ = ("BIND_ERRORS", "bind_error_message", "create_listener", "probe_address")

# One line per errno a bind commonly fails with, for the command's error message.
BIND_ERRORS: Final[dict[int, str]] = {
    errno.EACCES: "You don't have permission to access that port.",
    errno.EADDRINUSE: "That port is already in use.",
    errno.EADDRNOTAVAIL: "That IP address can't be assigned to.",
}


def bind_error_message(exc: OSError) -> str:
    """Return a one-line explanation of a bind failure."""
    return BIND_ERRORS.get(exc.errno or 0, exc.strerror or str(exc))


def _address_info(host: str, port: int) -> tuple[socket.AddressFamily, tuple[object, ...]]:
    infos = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE | socket.AI_NUMERICSERV
    )
    family, _, _, _, sockaddr = infos[0]
    return family, sockaddr


def probe_address(host: str, port: int) -> tuple[socket.AddressFamily, int]:
    """Check that ``host:port`` is free to listen on; return its family and the real port.

    Raises ``OSError`` (EADDRINUSE, EACCES, ...) when it is not.
    """
    family, sockaddr = _address_info(host, port)
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        # SO_REUSEADDR only lets us past TIME_WAIT leftovers of a previous run; on Linux it never
        # lets two sockets listen on one port.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            probe.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        probe.bind(sockaddr)
        # Listening makes the check complete: a port can be bindable yet taken by a listener
        # that set SO_REUSEADDR.
        probe.listen(1)
        real_port: int = probe.getsockname()[1]
    return family, real_port


def create_listener(
    host: str, port: int, backlog: int, *, reuse_port: bool = True
) -> socket.socket:
    """Return a non-blocking listening socket on ``host:port`` (port already resolved, not 0)."""
    family, sockaddr = _address_info(host, port)
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port:
            # Each slot owns one socket in the kernel's SO_REUSEPORT group: connections are
            # hashed across the group, so every process accepts without a shared lock.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.bind(sockaddr)
        sock.listen(backlog)
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock
