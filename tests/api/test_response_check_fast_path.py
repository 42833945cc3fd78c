"""Return values annotated dict[str, <scalar>] are checked without msgspec when they obviously
match; whether a value passes, and what is sent, must still be exactly what msgspec.convert
decides for the annotation, which these tests use as the oracle."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import msgspec
import pytest

from django_bolt import BoltAPI
from django_bolt.testing import TestClient

if TYPE_CHECKING:
    from collections.abc import Iterator

VALUES: list[tuple[str, Any]] = [
    ("str-ok", {"a": "x"}),
    ("str-gets-int", {"a": 1}),
    ("int-ok", {"a": 1}),
    ("int-gets-bool", {"a": True}),
    ("int-gets-str", {"a": "1"}),
    ("float-gets-int", {"a": 1}),
    ("float-ok", {"a": 1.5}),
    ("bool-ok", {"a": False}),
    ("bool-gets-int", {"a": 0}),
    ("non-str-key", {1: "x"}),
    ("empty", {}),
]
TYPES: dict[str, type] = {"str": str, "int": int, "float": float, "bool": bool}


def _build() -> BoltAPI:
    api = BoltAPI()
    for tname, tp in TYPES.items():
        for case, value in VALUES:

            def handler(value: Any = value) -> Any:
                return value

            handler.__annotations__ = {"return": dict[str, tp]}  # type: ignore[valid-type]
            api.get(f"/{tname}/{case}", inline=True)(handler)
    return api


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    with TestClient(_build(), raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.mark.parametrize("tname", list(TYPES))
@pytest.mark.parametrize(("case", "value"), VALUES, ids=[c for c, _ in VALUES])
def test_fast_check_agrees_with_msgspec(
    client: TestClient, tname: str, case: str, value: Any
) -> None:
    response = client.get(f"/{tname}/{case}")
    try:
        expected = msgspec.convert(value, dict[str, TYPES[tname]])  # type: ignore[index]
    except msgspec.ValidationError:
        assert response.status_code == 500
        assert response.json() == {"detail": "Response validation error"}
    else:
        assert response.status_code == 200
        assert response.content == msgspec.json.encode(expected)
