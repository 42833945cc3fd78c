"""APIKeyAuthentication: sets, mappings and callables (sync and async), custom header."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from django_bolt import BoltAPI
from django_bolt.auth import APIKeyAuthentication, HasPermission, IsAuthenticated
from django_bolt.auth.api_key import key_id
from django_bolt.testing import TestClient


def _get(auth: APIKeyAuthentication, headers: dict[str, str], guards: Any = None) -> Any:
    api = BoltAPI()

    @api.get("/r", auth=[auth], guards=guards if guards is not None else [IsAuthenticated()])
    async def handler(request):
        return {"user": request.user.id, "auth": request.auth}

    with TestClient(api) as client:
        return client.get("/r", headers=headers)


def _lookup(key: str) -> Any:
    return {"id": "svc", "permissions": ["app.read"]} if key == "from-callable" else None


async def _alookup(key: str) -> Any:
    await asyncio.sleep(0)
    return _lookup(key)


AS_SET = APIKeyAuthentication(api_keys={"k1", "k2"})
AS_MAP = APIKeyAuthentication(api_keys={"k1": "billing", "k2": {"id": "ops"}})
SYNC_CALLABLE = APIKeyAuthentication(api_keys=_lookup)
ASYNC_CALLABLE = APIKeyAuthentication(api_keys=_alookup)


@pytest.mark.parametrize(
    ("auth", "key", "status", "user"),
    [
        pytest.param(AS_SET, "k2", 200, key_id(b"k2"), id="set-valid"),
        pytest.param(AS_MAP, "k1", 200, "billing", id="map-name"),
        pytest.param(AS_MAP, "k2", 200, "ops", id="map-dict"),
        pytest.param(AS_MAP, "k3", 401, None, id="invalid"),
        pytest.param(AS_MAP, "k1x", 401, None, id="prefix-of-nothing"),
        pytest.param(AS_MAP, "", 401, None, id="empty"),
        pytest.param(SYNC_CALLABLE, "from-callable", 200, "svc", id="callable-valid"),
        pytest.param(SYNC_CALLABLE, "nope", 401, None, id="callable-invalid"),
        pytest.param(ASYNC_CALLABLE, "from-callable", 200, "svc", id="async-callable-valid"),
        pytest.param(ASYNC_CALLABLE, "nope", 401, None, id="async-callable-invalid"),
    ],
)
def test_keys(auth: APIKeyAuthentication, key: str, status: int, user: Any) -> None:
    response = _get(auth, {"X-API-Key": key})
    assert response.status_code == status
    if status == 200:
        assert response.json()["user"] == user
    else:
        assert response.json() == {"detail": "Invalid API key"}
        assert response.headers["www-authenticate"] == "ApiKey"


def test_missing_key() -> None:
    response = _get(AS_MAP, {})
    assert response.status_code == 401
    assert response.json() == {"detail": "Authentication required"}


def test_request_auth_carries_key_info() -> None:
    assert _get(AS_MAP, {"X-API-Key": "k1"}).json()["auth"] == {"api_key": "billing"}


def test_custom_header() -> None:
    auth = APIKeyAuthentication(api_keys={"k1"}, header="X-Service-Token")
    assert _get(auth, {"X-Service-Token": "k1"}).status_code == 200
    assert _get(auth, {"X-API-Key": "k1"}).status_code == 401


def test_callable_permissions_drive_guards() -> None:
    ok = _get(SYNC_CALLABLE, {"X-API-Key": "from-callable"}, [HasPermission("app.read")])
    refused = _get(SYNC_CALLABLE, {"X-API-Key": "from-callable"}, [HasPermission("app.write")])
    assert (ok.status_code, refused.status_code) == (200, 403)


def test_key_permissions_for_a_key_set() -> None:
    auth = APIKeyAuthentication(api_keys={"r", "w"}, key_permissions={"w": {"app.write"}})
    assert _get(auth, {"X-API-Key": "w"}, [HasPermission("app.write")]).status_code == 200
    assert _get(auth, {"X-API-Key": "r"}, [HasPermission("app.write")]).status_code == 403


def test_request_context_names_the_api_key_backend() -> None:
    api = BoltAPI()
    auth = APIKeyAuthentication(api_keys={"k1"})

    @api.get("/ctx", auth=[auth], guards=[IsAuthenticated()])
    async def ctx(request):
        return request.context

    with TestClient(api) as client:
        context = client.get("/ctx", headers={"x-api-key": "k1"}).json()
    assert context["auth_backend"] == "api_key"
    assert context["auth_backend_index"] == 0
    # As in Django-Bolt 0.13 the entry is absent: context.get("auth_claims", {}) gives {}.
    assert "auth_claims" not in context
