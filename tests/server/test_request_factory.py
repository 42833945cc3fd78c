"""The server's side of ``request_factory`` (contract.py): what builds each request.

An application may offer a function that builds its ``request_class`` from the parsed values;
the server then calls it instead of the class, for every request it dispatches. Without one the
class itself is called, as before.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django_bolt import BoltAPI, Request
from django_bolt.conf import ServerConfig
from django_bolt.request import new_request
from django_bolt.server.contract import RawRequest
from django_bolt.server.state import ServerState
from tests.server.apps import EchoApp
from tests.server.test_protocol_security import answers

if TYPE_CHECKING:
    from collections.abc import Callable

    from tests.server.conftest import Driver


class Tagged(RawRequest):
    __slots__ = ("made_by",)


class FactoryApp(EchoApp):
    """Builds its requests with a factory that marks them and keeps count."""

    def __init__(self) -> None:
        super().__init__()
        self.made: list[tuple[Any, ...]] = []

    def request_factory(self, *values: Any) -> RawRequest:
        self.made.append(values)
        request = Tagged(*values)
        request.made_by = "factory"
        return request


def test_the_server_builds_requests_with_the_application_factory(
    make: Callable[..., Driver],
) -> None:
    app = FactoryApp()
    d = make(app=app)
    out = d.feed(
        b"GET /a?x=1 HTTP/1.1\r\nHost: t\r\nOrigin: https://o.example\r\n\r\n"
        b"POST /b HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\nhi"
    )
    assert [status for status, _, _ in answers(out)] == [200, 200]
    assert [request.target for request in app.seen] == [b"/a?x=1", b"/b"]
    assert all(type(r) is Tagged and r.made_by == "factory" for r in app.seen)
    # The values it was given are the ones the class itself takes, in its order.
    method, target, headers, body, _client, scheme, _server, version, body_file, origin = app.made[
        0
    ]
    assert (method, target, body, scheme, version) == ("GET", b"/a?x=1", b"", "http", "1.1")
    assert body_file is None
    assert headers[:2] == [(b"Host", b"t"), (b"Origin", b"https://o.example")]
    assert origin == b"https://o.example"
    assert app.made[1][3] == b"hi"


def test_without_a_factory_the_class_is_called(make: Callable[..., Driver]) -> None:
    assert ServerState(EchoApp(), ServerConfig()).request_factory is RawRequest
    app = EchoApp()
    d = make(app=app)
    d.feed(b"GET /plain HTTP/1.1\r\nHost: t\r\n\r\n")
    assert [type(request) for request in app.seen] == [RawRequest]


def test_an_api_offers_its_compiled_factory_unless_it_names_its_own_class() -> None:
    api = BoltAPI()
    assert ServerState(api, ServerConfig()).request_factory is new_request
    made = new_request("GET", b"/x?y=1", [(b"host", b"t")], b"", None, "http", None, "1.1")
    assert type(made) is Request
    assert (made.path, made.query_string, made.origin) == ("/x", "y=1", None)

    class OwnRequest(Request):
        __slots__ = ()

    class OwnAPI(BoltAPI):
        request_class = OwnRequest

    assert ServerState(OwnAPI(), ServerConfig()).request_factory is OwnRequest
