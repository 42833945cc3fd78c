"""Each client compiles its API against the settings in force when it is made: an
``override_settings`` around it, its ``cors_allowed_origins``; nothing reaches a later client of
the same API (Django-Bolt 0.13's "Settings in tests")."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from django_bolt import BoltAPI
from django_bolt.testing import TestClient

ORIGIN = "https://a.example"

# Module-level, as a project's API is: every test below uses the same object.
api = BoltAPI()


@api.get("/hello")
async def hello() -> dict[str, str]:
    return {"message": "world"}


def _allowed(client: TestClient, origin: str = ORIGIN) -> str | None:
    return client.get("/hello", headers={"Origin": origin}).headers.get(
        "access-control-allow-origin"
    )


def test_an_override_reaches_a_client_of_an_api_compiled_before() -> None:
    with TestClient(api) as client:
        assert _allowed(client) is None
    with override_settings(CORS_ALLOWED_ORIGINS=[ORIGIN]), TestClient(api) as client:
        assert _allowed(client) == ORIGIN


def test_an_override_does_not_outlive_its_client() -> None:
    with (
        override_settings(CORS_ALLOWED_ORIGINS=[ORIGIN], BOLT_MAX_UPLOAD_SIZE=10),
        TestClient(api) as client,
    ):
        assert _allowed(client) == ORIGIN
    with TestClient(api) as client:
        assert _allowed(client) is None


def test_the_clients_origins_do_not_reach_a_later_client() -> None:
    with TestClient(api, cors_allowed_origins=[ORIGIN]) as client:
        assert _allowed(client) == ORIGIN
    with TestClient(api) as client:
        assert _allowed(client) is None


@pytest.mark.parametrize("origins", [["*"], [ORIGIN, "*"]], ids=["star", "star-among-others"])
def test_a_star_among_the_clients_origins_allows_every_origin(origins: list[str]) -> None:
    with TestClient(api, cors_allowed_origins=origins) as client:
        assert _allowed(client, "https://any.example") == "*"
        preflight = client.options(
            "/hello",
            headers={"Origin": "https://any.example", "Access-Control-Request-Method": "GET"},
        )
        assert preflight.headers["access-control-allow-origin"] == "*"
    # The setting itself still refuses "*" (CORS_ALLOW_ALL_ORIGINS says it).
    with (
        override_settings(CORS_ALLOWED_ORIGINS=["*"]),
        pytest.raises(ImproperlyConfigured, match="CORS_ALLOW_ALL_ORIGINS"),
    ):
        TestClient(api)
