"""A JSON or JSON Response returned at the route's default status is checked like a bare value."""

import msgspec
import pytest

from django_bolt import JSON, BoltAPI, PlainText, Response, StreamingResponse
from django_bolt.testing import TestClient


class User(msgspec.Struct):
    id: int
    name: str


SHARED = JSON({"id": 1, "name": "ann", "password": "secret"})

api = BoltAPI()


@api.get("/json-ok")
async def json_ok() -> User:
    return JSON({"id": 1, "name": "ann", "password": "secret"}, headers={"x-kept": "1"})


@api.get("/json-bad")
async def json_bad() -> User:
    return JSON({"id": "one", "name": "ann"})


@api.get("/response-bad")
async def response_bad() -> User:
    return Response({"id": 1})


@api.get("/response-media-bad")
async def response_media_bad() -> User:
    return Response({"id": 1}, media_type="application/json; charset=utf-8")


@api.post("/created", status_code=201)
async def created(fail: bool = False) -> User:
    if fail:
        # Another status than the route's: an error body, sent as built.
        return JSON({"name": ["Already taken."]}, status_code=400)
    return JSON({"id": 7, "name": "new"}, status_code=201)


@api.post("/created-wrong", status_code=201)
async def created_wrong() -> User:
    return JSON({"id": "x"}, status_code=201)


@api.get("/other-200", status_code=201)
async def other_200() -> User:
    # 200 is not this route's default status: sent as built.
    return JSON({"free": "form"})


@api.get("/model-ok", response_model=User)
def model_ok():
    return JSON({"id": 2, "name": "bo", "extra": True})


@api.get("/model-bad", response_model=User)
def model_bad():
    return JSON([1, 2, 3])


@api.get("/unchecked", response_model=User, validate_response=False)
async def unchecked():
    return JSON({"id": "not checked"})


@api.get("/raw-bytes")
async def raw_bytes() -> User:
    return Response(b'{"anything": true}')


@api.get("/text")
async def text() -> User:
    return PlainText("not json at all")


@api.get("/stream")
async def stream() -> User:
    return StreamingResponse(iter([b"a", b"b"]), media_type="application/json")


@api.get("/shared")
async def shared() -> User:
    return SHARED


@api.get("/untyped")
async def untyped():
    return JSON({"id": "anything"})


@pytest.fixture(scope="module")
def client():
    with TestClient(api, raise_server_exceptions=False) as c:
        yield c


def test_a_json_at_the_default_status_is_shaped_by_the_declared_type(client):
    response = client.get("/json-ok")
    assert response.status_code == 200
    # As a bare dict would be: the Struct's fields only, the password left out.
    assert response.json() == {"id": 1, "name": "ann"}
    assert response.headers["x-kept"] == "1"


@pytest.mark.parametrize(
    "path", ["/json-bad", "/response-bad", "/response-media-bad", "/model-bad", "/created-wrong"]
)
def test_a_json_that_does_not_match_the_declared_type_is_a_500(client, path):
    method = client.post if path == "/created-wrong" else client.get
    response = method(path)
    assert response.status_code == 500
    assert response.json()["detail"] == "Response validation error"


def test_the_route_default_status_is_the_one_checked(client):
    response = client.post("/created")
    assert response.status_code == 201
    assert response.json() == {"id": 7, "name": "new"}
    response = client.post("/created", params={"fail": "true"})
    assert response.status_code == 400
    assert response.json() == {"name": ["Already taken."]}
    response = client.get("/other-200")
    assert response.status_code == 200
    assert response.json() == {"free": "form"}


def test_response_model_checks_a_json_too(client):
    assert client.get("/model-ok").json() == {"id": 2, "name": "bo"}


def test_what_is_not_checked_goes_out_as_built(client):
    assert client.get("/unchecked").json() == {"id": "not checked"}
    assert client.get("/raw-bytes").json() == {"anything": True}
    assert client.get("/text").text == "not json at all"
    assert client.get("/stream").content == b"ab"
    assert client.get("/untyped").json() == {"id": "anything"}


def test_a_shared_response_object_is_not_changed(client):
    for _ in range(2):
        assert client.get("/shared").json() == {"id": 1, "name": "ann"}
    assert SHARED.content == {"id": 1, "name": "ann", "password": "secret"}
