"""The clients' arguments: ``AsyncTestClient`` takes the same ones as ``TestClient`` (as in
Django-Bolt 0.13's testing page), and the package exports its names."""

from __future__ import annotations

import asyncio
import inspect

import pytest

import django_bolt.testing
from django_bolt import BoltAPI
from django_bolt.testing import AsyncTestClient, TestClient

api = BoltAPI()


@api.get("/hello")
async def hello() -> dict[str, str]:
    return {"message": "world"}


def test_the_async_client_takes_the_same_arguments() -> None:
    sync_parameters = inspect.signature(TestClient).parameters
    assert inspect.signature(AsyncTestClient).parameters.keys() == sync_parameters.keys()

    async def main() -> list[int]:
        answers = []
        for options in ({"share_db_connection": False}, {"use_http_layer": True}):
            async with AsyncTestClient(api, **options) as client:  # type: ignore[arg-type]
                answers.append((await client.get("/hello")).status_code)
        return answers

    assert asyncio.run(main()) == [200, 200]


def test_the_package_exports_its_names() -> None:
    names = set(django_bolt.testing.__all__)
    assert {
        "AsyncTestClient",
        "BoltTestClientWarning",
        "HandshakeRejected",
        "SharedTestConnectionError",
        "TestClient",
        "WebSocketTestClient",
        "WebSocketTestSession",
        "bolt_client_factory",
    } <= names
    assert all(hasattr(django_bolt.testing, name) for name in names)
    assert issubclass(django_bolt.testing.BoltTestClientWarning, Warning)
    assert issubclass(django_bolt.testing.SharedTestConnectionError, RuntimeError)


def test_options_that_cannot_apply_say_so() -> None:
    with pytest.warns(django_bolt.testing.BoltTestClientWarning, match="use_http_layer=False"):
        TestClient(api, use_http_layer=False)

    async def main() -> int:
        with pytest.warns(
            django_bolt.testing.BoltTestClientWarning, match="share_db_connection=True"
        ):
            client = AsyncTestClient(api, share_db_connection=True)
        async with client:
            return (await client.get("/hello")).status_code

    assert asyncio.run(main()) == 200
