"""Misses the server answers itself (``BoltAPI.miss_answers``, contract.py's optional hook).

Once the API has found that nothing but a request's Host and path decided its 404 (no route, no
URLconf pattern Django would act on, no CORS policy or error formatter, no static files), the
server answers the next GET or HEAD for that Host and path with the same 404 and no dispatch.
These tests count the API's dispatches to tell which requests the server answered alone.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from django.test import override_settings

from django_bolt import BoltAPI
from django_bolt.middleware import cors
from django_bolt.responses import JSON

if TYPE_CHECKING:
    from collections.abc import Callable

    from django_bolt.testing import TestClient

NOT_FOUND = {"detail": "Not Found"}


class Counted:
    """The API with its dispatch_nowait wrapped (before the client's server reads it)."""

    def __init__(self, api: BoltAPI) -> None:
        self.api = api
        self.calls = 0
        inner = api.dispatch_nowait

        def counting(request: Any) -> Any:
            self.calls += 1
            return inner(request)

        api.dispatch_nowait = counting  # type: ignore[method-assign]


def _api(**options: Any) -> BoltAPI:
    api = BoltAPI(**options)

    @api.get("/items")
    async def items() -> dict[str, str]:
        return {"from": "api"}

    return api


@pytest.fixture
def counted() -> Counted:
    return Counted(_api())


@pytest.fixture
def client(counted: Counted, bolt_client_factory: Callable[..., TestClient]) -> TestClient:
    return bolt_client_factory(counted.api)


def test_a_miss_is_answered_by_the_server_the_second_time(
    counted: Counted, client: TestClient
) -> None:
    first = client.get("/nowhere?page=1")
    assert counted.calls == 1
    assert counted.api.miss_answers.keys() == {(b"testserver", b"/nowhere")}
    second = client.get("/nowhere?page=2")  # the query is no part of the key
    head = client.head("/nowhere")
    assert counted.calls == 1
    for response in (first, second):
        assert response.status_code == 404
        assert response.json() == NOT_FOUND
        assert response.headers["content-type"] == "application/json"
    assert head.status_code == 404
    assert head.content == b""
    assert head.headers["content-length"] == first.headers["content-length"]
    # Routes and other paths are dispatched as before.
    assert client.get("/items").json() == {"from": "api"}
    assert client.get("/elsewhere").status_code == 404
    assert counted.calls == 3


def test_another_host_or_method_is_decided_by_the_api(
    bolt_client_factory: Callable[..., TestClient],
) -> None:
    with override_settings(ALLOWED_HOSTS=["testserver"]):
        counted = Counted(_api())
        client = bolt_client_factory(counted.api)
        assert client.get("/nowhere").status_code == 404
        assert client.get("/nowhere").status_code == 404
        assert counted.calls == 1
        # Not remembered for a Host the API refuses, nor for another method.
        assert client.get("/nowhere", headers={"Host": "evil.example"}).status_code == 400
        assert client.post("/nowhere").status_code == 404
        assert counted.calls == 3
        assert list(counted.api.miss_answers) == [(b"testserver", b"/nowhere")]


def test_a_route_added_later_serves_a_remembered_path(counted: Counted, client: TestClient) -> None:
    assert client.get("/later").status_code == 404
    assert counted.api.miss_answers

    @counted.api.get("/later")
    async def later() -> dict[str, bool]:
        return {"later": True}

    assert not counted.api.miss_answers
    assert client.get("/later").json() == {"later": True}


def test_a_changed_setting_forgets_the_answers(counted: Counted, client: TestClient) -> None:
    client.get("/nowhere")
    assert counted.api.miss_answers
    with override_settings(APPEND_SLASH=False):
        assert not counted.api.miss_answers


def _formatter(error: Any, request: Any) -> JSON:
    return JSON({"oops": error.status}, status_code=error.status)


@pytest.mark.parametrize(
    "options",
    [
        pytest.param({"error_formatter": _formatter}, id="formatter"),
        pytest.param({"cors": True}, id="cors"),
    ],
)
def test_answers_that_depend_on_more_than_host_and_path_are_not_kept(
    bolt_client_factory: Callable[..., TestClient], options: dict[str, Any]
) -> None:
    with_cors = options.pop("cors", False)
    counted = Counted(_api(**options))
    if with_cors:
        settings = override_settings(CORS_ALLOWED_ORIGINS=["https://app.example"])
    else:
        settings = override_settings()
    with settings:
        client = bolt_client_factory(counted.api)
        for _ in range(2):
            response = client.get("/nowhere", headers={"Origin": "https://app.example"})
            assert response.status_code == 404
        assert counted.calls == 2
        assert not counted.api.miss_answers
        if with_cors:
            assert response.headers["access-control-allow-origin"] == "https://app.example"
        else:
            assert response.json() == {"oops": 404}


def test_the_answers_are_bounded_in_number_and_key_size(
    counted: Counted, client: TestClient
) -> None:
    assert client.get("/" + "x" * 300).status_code == 404
    assert not counted.api.miss_answers  # a key longer than 256 bytes is not kept
    for n in range(1100):
        client.get(f"/scan/{n}")
    assert len(counted.api.miss_answers) == 1024
    calls = counted.calls
    assert client.get("/scan/1099").status_code == 404  # not kept: decided again
    assert client.get("/scan/0").status_code == 404  # kept
    assert counted.calls == calls + 1


def test_a_route_decorated_with_cors_does_not_change_the_miss(
    counted: Counted, client: TestClient
) -> None:
    @counted.api.get("/open")
    @cors(origins=["https://app.example"])
    async def open_route() -> dict[str, bool]:
        return {"open": True}

    client.get("/closed")
    assert client.get("/closed").status_code == 404
    assert client.get("/open").json() == {"open": True}
