"""WebSocket routes in the OpenAPI document, shown as Django-Bolt 0.13 shows them.

The document is read as a client reads it (``/openapi.json`` through the test client), checked
by the OpenAPI 3.1 validator, and held against what the server answers: the statuses and bodies
it documents for the handshake are the ones a real handshake gets.
"""

from __future__ import annotations

from typing import Annotated, Any

import jsonschema
import pytest
from openapi_spec_validator import validate

from django_bolt import BoltAPI, Header, Router, WebSocket
from django_bolt.auth import IsAuthenticated, JWTAuthentication
from django_bolt.openapi import OpenAPIConfig
from django_bolt.testing import HandshakeRejected, TestClient


def make_api(**options: Any) -> BoltAPI:
    api = BoltAPI(**options)

    @api.websocket("/ws/room/{room_id}")
    async def room(
        websocket: WebSocket,
        room_id: int,
        since: int = 0,
        token: Annotated[str | None, Header(alias="x-token")] = None,
    ) -> None:
        """Chat room.

        Sends what the others say.
        """
        await websocket.accept()
        await websocket.send_json({"room": room_id, "since": since, "token": token})

    @api.websocket(
        "/ws/prices",
        auth=[JWTAuthentication(secret="openapi-test")],
        guards=[IsAuthenticated()],
        tags=["Streaming"],
        summary="Stream prices",
        description="Sends each price change.",
    )
    async def prices(websocket: WebSocket) -> None:
        await websocket.accept()

    @api.websocket("/ws/internal", include_in_schema=False)
    async def internal(websocket: WebSocket) -> None:
        await websocket.accept()

    @api.get("/ws/both")
    async def both_http() -> dict[str, str]:
        return {"served": "http"}

    @api.websocket("/ws/both")
    async def both(websocket: WebSocket) -> None:
        await websocket.accept()

    @api.websocket("/ws/bare")
    async def bare(websocket: WebSocket) -> None:
        await websocket.accept()

    router = Router(prefix="/chat", tags=["chat"])

    @router.websocket("/live")
    async def live(websocket: WebSocket) -> None:
        await websocket.accept()

    api.include_router(router)
    return api


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    with TestClient(make_api()) as client:
        response = client.get("/openapi.json")
        assert response.status_code == 200
        return dict(response.json())


def test_the_document_is_valid_openapi_31(document: dict[str, Any]) -> None:
    validate(document)


def test_a_websocket_is_a_get_operation_on_a_marked_path(document: dict[str, Any]) -> None:
    item = document["paths"]["/ws/room/{room_id}"]
    assert item["x-websocket"] is True
    assert set(item) == {"get", "x-websocket"}
    operation = item["get"]
    assert operation["tags"] == ["WebSocket"]
    assert operation["operationId"] == "websocket_room"
    # The docstring's first line is the summary, labelled; the rest leads the description.
    assert operation["summary"] == "WebSocket: Chat room."
    assert operation["description"].startswith("Sends what the others say.\n\n")
    assert "ws://" in operation["description"]
    assert "requestBody" not in operation


def test_parameters_are_the_routes_plus_the_upgrade_fields(document: dict[str, Any]) -> None:
    operation = document["paths"]["/ws/room/{room_id}"]["get"]
    params = {(p["in"], p["name"]): p for p in operation["parameters"]}
    assert set(params) == {
        ("path", "room_id"),
        ("query", "since"),
        ("header", "x-token"),
        ("header", "Upgrade"),
        ("header", "Connection"),
    }
    assert params["path", "room_id"]["schema"] == {"type": "integer"}
    assert params["query", "since"]["schema"]["default"] == 0
    assert params["header", "Upgrade"]["required"] is True
    assert params["header", "Upgrade"]["schema"]["enum"] == ["websocket"]
    assert params["header", "Connection"]["schema"]["enum"] == ["Upgrade"]


def test_responses_are_the_handshakes_answers(document: dict[str, Any]) -> None:
    open_room = document["paths"]["/ws/room/{room_id}"]["get"]
    assert set(open_room["responses"]) == {"101", "400", "403", "426"}
    assert "security" not in open_room
    guarded = document["paths"]["/ws/prices"]["get"]
    assert set(guarded["responses"]) == {"101", "400", "401", "403", "426"}
    assert guarded["security"] == [{"BearerAuth": []}]
    assert document["components"]["securitySchemes"]["BearerAuth"]["scheme"] == "bearer"


def test_tags_summary_and_description_given_on_the_route(document: dict[str, Any]) -> None:
    operation = document["paths"]["/ws/prices"]["get"]
    assert operation["tags"] == ["Streaming"]  # given tags replace the WebSocket tag
    assert operation["summary"] == "WebSocket: Stream prices"
    assert operation["description"].startswith("Sends each price change.")
    bare = document["paths"]["/ws/bare"]["get"]
    assert bare["summary"] == "WebSocket Connection"
    assert document["paths"]["/chat/live"]["get"]["tags"] == ["chat", "WebSocket"]


def test_hidden_routes_and_a_path_that_also_has_an_http_get(document: dict[str, Any]) -> None:
    assert "/ws/internal" not in document["paths"]
    # A plain GET of /ws/both is served by the HTTP route, which keeps the operation.
    both = document["paths"]["/ws/both"]
    assert both["get"]["operationId"] == "get_both_http"
    assert "x-websocket" not in both
    operation_ids = [
        op["operationId"]
        for item in document["paths"].values()
        for key, op in item.items()
        if key == "get"
    ]
    assert len(operation_ids) == len(set(operation_ids))


def test_the_apis_include_in_schema_and_excluded_paths_apply() -> None:
    with TestClient(make_api(include_in_schema=False)) as client:
        assert client.get("/openapi.json").json()["paths"] == {}
    config = OpenAPIConfig(title="t", version="1", exclude_paths=["/ws/"])
    with TestClient(make_api(openapi_config=config)) as client:
        paths = client.get("/openapi.json").json()["paths"]
    assert set(paths) == {"/chat/live"}


def test_the_documented_answers_are_the_servers(document: dict[str, Any]) -> None:
    operation = document["paths"]["/ws/room/{room_id}"]["get"]
    error_schema = {"components": document["components"]}
    error_schema.update(operation["responses"]["400"]["content"]["application/json"]["schema"])
    with TestClient(make_api()) as client:
        with client.websocket_connect("/ws/room/7?since=3", headers={"x-token": "t"}) as ws:
            assert ws.receive_json() == {"room": 7, "since": 3, "token": "t"}
        with pytest.raises(HandshakeRejected) as rejected, client.websocket_connect("/ws/room/x"):
            pass
        assert rejected.value.status_code == 400
        jsonschema.validate(rejected.value.json(), error_schema)
        with pytest.raises(HandshakeRejected) as rejected, client.websocket_connect("/ws/prices"):
            pass
        assert rejected.value.status_code == 401
        jsonschema.validate(rejected.value.json(), error_schema)
        plain = client.get("/ws/room/7")
        assert plain.status_code == 426
        assert plain.headers["sec-websocket-version"] == "13"
        assert client.get("/ws/both").json() == {"served": "http"}
