"""The server's side of ``miss_answers`` (contract.py): which requests it answers by itself.

An application may hand the server answers by (Host, path). The server writes one for a GET or
HEAD whose Host field and path match, answered in turn, with no request object and no dispatch;
anything else (another method, an absolute-form target naming another authority, a request
behind another in the pipeline, a body, an Upgrade) is dispatched as usual.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from django_bolt.conf import ServerConfig
from django_bolt.server.contract import WireResponse
from django_bolt.server.state import ServerState
from tests.server.apps import EchoApp
from tests.server.test_protocol_security import answers

if TYPE_CHECKING:
    from collections.abc import Callable

    import pytest

    from tests.server.conftest import Driver

GONE = WireResponse(404, [(b"content-type", b"application/json")], b'{"detail":"Not Found"}')


class MissApp(EchoApp):
    def __init__(self) -> None:
        super().__init__()
        self.miss_answers = {(b"t", b"/gone"): GONE}


def _paths(app: EchoApp) -> list[bytes]:
    return [request.target for request in app.seen]


def test_a_known_miss_is_answered_without_dispatch(make: Callable[..., Driver]) -> None:
    d = make(app=MissApp())
    out = d.feed(b"GET /gone?x=1 HTTP/1.1\r\nHost: t\r\n\r\n")
    assert answers(out) == [(404, answers(out)[0][1], b'{"detail":"Not Found"}')]
    assert answers(out)[0][1][b"content-length"] == b"22"
    head = d.feed(b"HEAD /gone HTTP/1.1\r\nHost: t\r\n\r\n")
    assert head.endswith(b"\r\n\r\n")
    assert b"content-length: 22\r\n" in head
    assert d.app.seen == []
    assert not d.transport.closed
    # HTTP/1.0 keeps its connection only when asked, as for any answer.
    out = d.feed(b"GET /gone HTTP/1.0\r\nHost: t\r\nConnection: keep-alive\r\n\r\n")
    assert b"\r\nconnection: keep-alive\r\n" in out.lower()
    out = d.feed(b"GET /gone HTTP/1.0\r\nHost: t\r\n\r\n")
    assert b"\r\nconnection: close\r\n" in out.lower()
    assert d.app.seen == []
    assert d.transport.closed


def test_anything_else_is_dispatched(make: Callable[..., Driver]) -> None:
    d = make(app=MissApp())
    requests = [
        b"POST /gone HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n",
        b"GET /gone HTTP/1.1\r\nHost: u\r\n\r\n",
        b"GET /gone/ HTTP/1.1\r\nHost: t\r\n\r\n",
        b"GET /gone HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\nhi",
        # The target's authority replaces the Host field the client sent.
        b"GET http://u/gone HTTP/1.1\r\nHost: t\r\n\r\n",
        b"GET /gone HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n",
    ]
    for request in requests:
        out = d.feed(request)
        assert answers(out)[-1][0] == 200, request
    assert len(d.app.seen) == len(requests)


def test_behind_a_request_in_progress_the_order_is_kept(make: Callable[..., Driver]) -> None:
    d = make(app=MissApp())
    out = d.feed(
        b"GET /sleep?0.01 HTTP/1.1\r\nHost: t\r\n\r\n"
        b"GET /gone HTTP/1.1\r\nHost: t\r\n\r\n"
        b"GET /gone HTTP/1.1\r\nHost: t\r\n\r\n"
    )
    # The first suspends: the two behind it wait their turn and are dispatched.
    assert [status for status, _, _ in answers(out)] == [200, 200, 200]
    assert _paths(d.app) == [b"/sleep?0.01", b"/gone", b"/gone"]
    # Whole requests in one read, answered at once, are each answered in turn by the server.
    out = d.feed(
        b"GET /gone HTTP/1.1\r\nHost: t\r\n\r\n" * 2 + b"GET /a HTTP/1.1\r\nHost: t\r\n\r\n"
    )
    assert [status for status, _, _ in answers(out)] == [200, 200, 200, 404, 404, 200]
    assert _paths(d.app)[-1] == b"/a"


def test_the_answers_are_ignored_while_requests_are_logged_or_counted() -> None:
    app: Any = MissApp()
    assert ServerState(app, ServerConfig()).miss_answers is app.miss_answers
    logged = ServerState(app, ServerConfig(), lambda *_: None)
    assert logged.miss_answers is None
    assert ServerState(EchoApp(), ServerConfig()).miss_answers is None


def test_an_answer_head_is_checked_once_and_reused_with_fresh_date_and_length(
    make: Callable[..., Driver],
) -> None:
    gone = WireResponse(410, [(b"content-type", b"text/plain"), (b"x-why", b"moved")], b"bye")
    app = MissApp()
    app.miss_answers[(b"t", b"/old")] = gone
    d = make(app=app)
    assert gone.wire_head is None
    d.feed(b"GET /old HTTP/1.1\r\nHost: t\r\n\r\n")  # feed() returns all output so far
    assert gone.wire_head == b"HTTP/1.1 410 Gone\r\ncontent-type: text/plain\r\nx-why: moved\r\n"
    out = d.feed(b"GET /old HTTP/1.1\r\nHost: t\r\n\r\n")
    assert len(answers(out)) == 2
    for status, headers, body in answers(out):
        assert (status, body, headers[b"x-why"]) == (410, b"bye", b"moved")
        assert headers[b"content-length"] == b"3"
        assert b"date" in headers
    head = d.feed(b"HEAD /old HTTP/1.1\r\nHost: t\r\n\r\n")
    assert head.endswith(b"content-length: 3\r\n\r\n")
    assert d.app.seen == []


def test_an_answer_kept_whole_for_a_second_carries_the_date_of_the_next(
    make: Callable[..., Driver], monkeypatch: pytest.MonkeyPatch
) -> None:
    # A keep-alive GET gets the bytes joined once for the current second (date included).
    d = make(app=MissApp())
    d.feed(b"GET /gone HTTP/1.1\r\nHost: t\r\n\r\n")
    first = d.feed(b"GET /gone HTTP/1.1\r\nHost: t\r\n\r\n")
    assert first.count(first[: first.index(b"\r\n\r\n")]) == 2  # two identical heads
    monkeypatch.setattr(time, "time", lambda: 2_000_000_000.0)
    d.state.tick()  # the server's once-a-second refresh of the date
    out = d.feed(b"GET /gone HTTP/1.1\r\nHost: t\r\n\r\n")
    status, headers, body = answers(out)[-1]
    assert (status, body) == (404, b'{"detail":"Not Found"}')
    assert headers[b"date"] == b"Wed, 18 May 2033 03:33:20 GMT"
    assert headers[b"content-length"] == b"22"
    assert d.app.seen == []


def test_an_answer_that_closes_the_connection_is_not_kept(make: Callable[..., Driver]) -> None:
    closing = WireResponse(404, [(b"connection", b"close")], b"no")
    app = MissApp()
    app.miss_answers[(b"t", b"/shut")] = closing
    d = make(app=app)
    out = d.feed(b"GET /shut HTTP/1.1\r\nHost: t\r\n\r\n")
    assert answers(out)[0][0] == 404
    assert b"\r\nconnection: close\r\n" in out.lower()
    assert closing.wire_head is None
    assert d.transport.closed
