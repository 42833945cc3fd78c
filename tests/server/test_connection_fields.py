"""Whether a connection stays open after a request: llhttp's rule, whoever answers.

The reader asks llhttp (``should_keep_alive``) only when the request is not HTTP/1.1 or carries
a Connection field (Proxy-Connection counts, and so does one in a chunked body's trailer); an
HTTP/1.1 request without one keeps the connection. These tests hold every spelling llhttp reads
to the same outcome on a dispatched request and on one the server answers from the
application's ``miss_answers``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import httptools
import pytest

from tests.server.test_miss_answers import MissApp
from tests.server.test_protocol_security import answers

if TYPE_CHECKING:
    from collections.abc import Callable

    from tests.server.conftest import Driver

# (version, fields) pairs and whether the connection stays open after the answer.
CASES = [
    pytest.param(b"1.1", b"", True, id="1.1-no-field"),
    pytest.param(b"1.1", b"Connection: keep-alive\r\n", True, id="1.1-keep-alive"),
    pytest.param(b"1.1", b"Connection: close\r\n", False, id="1.1-close"),
    pytest.param(b"1.1", b"CONNECTION: Close\r\n", False, id="1.1-close-upper-case"),
    pytest.param(b"1.1", b"connection: keep-alive, close\r\n", False, id="1.1-close-in-a-list"),
    pytest.param(b"1.1", b"Proxy-Connection: close\r\n", False, id="1.1-proxy-connection"),
    pytest.param(b"1.1", b"Connection: closed\r\n", True, id="1.1-not-the-close-token"),
    pytest.param(b"1.0", b"", False, id="1.0-no-field"),
    pytest.param(b"1.0", b"Connection: keep-alive\r\n", True, id="1.0-keep-alive"),
    pytest.param(b"1.0", b"Proxy-Connection: keep-alive\r\n", True, id="1.0-proxy-keep-alive"),
]


def _llhttp_keeps(head: bytes) -> bool:
    """What llhttp itself says about ``head`` (asked while the message completes)."""
    seen: list[bool] = []

    class Callbacks:
        def on_message_complete(self) -> None:
            seen.append(bool(parser.should_keep_alive()))

    parser = httptools.HttpRequestParser(Callbacks())
    parser.feed_data(head)
    return seen[0]


@pytest.mark.parametrize(("version", "fields", "open_after"), CASES)
@pytest.mark.parametrize("path", [b"/a", b"/gone"], ids=["dispatched", "miss-answer"])
def test_the_connection_stays_open_as_llhttp_says(
    make: Callable[..., Driver], version: bytes, fields: bytes, open_after: bool, path: bytes
) -> None:
    head = b"GET " + path + b" HTTP/" + version + b"\r\nHost: t\r\n" + fields + b"\r\n"
    assert _llhttp_keeps(head) is open_after  # the table above is llhttp's rule
    d = make(app=MissApp())
    out = d.feed(head)
    assert [status for status, _, _ in answers(out)] == [404 if path == b"/gone" else 200]
    assert d.transport.closed is not open_after
    assert len(d.app.seen) == (0 if path == b"/gone" else 1)
    if open_after:
        # The next request on the same connection is read and answered.
        out = d.feed(b"GET /b HTTP/1.1\r\nHost: t\r\n\r\n")
        assert answers(out)[-1][0] == 200
        assert d.app.seen[-1].target == b"/b"


@pytest.mark.parametrize(
    ("trailer", "open_after"),
    [
        pytest.param(b"", True, id="no-trailer"),
        pytest.param(b"Connection: close\r\n", False, id="connection-close"),
        pytest.param(b"Proxy-Connection: close\r\n", False, id="proxy-connection-close"),
        pytest.param(b"X-Checksum: 1\r\n", True, id="another-field"),
    ],
)
def test_a_connection_field_in_a_trailer_counts_as_llhttp_reads_it(
    make: Callable[..., Driver], trailer: bytes, open_after: bool
) -> None:
    head = (
        b"POST /a HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"2\r\nhi\r\n0\r\n" + trailer + b"\r\n"
    )
    assert _llhttp_keeps(head) is open_after
    d = make()
    out = d.feed(head)
    assert [status for status, _, _ in answers(out)] == [200]
    assert d.transport.closed is not open_after
    # The trailer's fields are not merged into the request's headers.
    names = [name.lower() for name, _ in d.app.seen[0].raw_headers]
    assert names == [b"host", b"transfer-encoding"]
