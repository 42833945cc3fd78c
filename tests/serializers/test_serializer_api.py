"""Serializers in routes, through the TestClient: request bodies (422 shapes), responses
(write-only, computed and subset output, 500 on invalid output) and the OpenAPI document."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

import msgspec
import pytest
from msgspec import Meta
from openapi_spec_validator import validate

from django_bolt import BoltAPI
from django_bolt.params import Body
from django_bolt.serializers import (
    Email,
    Serializer,
    computed_field,
    field,
    field_validator,
    model_validator,
)
from django_bolt.testing import TestClient


class Contact(Serializer):
    email: str
    label: str = "home"

    @field_validator("email")
    def check(cls, value: str) -> str:
        if "@" not in value:
            raise ValueError("Invalid email")
        return value.lower()


class Signup(Serializer):
    username: Annotated[str, Meta(min_length=3)]
    password: str = field(write_only=True, description="Never sent back")
    password_confirm: str = field(write_only=True, default="")
    contacts: list[Contact] = msgspec.field(default_factory=list)
    id: int = field(read_only=True)
    display_name: str = field(alias="displayName", default="")

    @field_validator("password")
    def strong(cls, value: str) -> str:
        if len(value) < 8:
            raise ValueError("Password too short")
        return value

    @model_validator
    def same(self) -> None:
        if self.password_confirm and self.password != self.password_confirm:
            raise ValueError("Passwords don't match")

    @computed_field(description="Upper-cased username")
    def shout(self) -> str:
        return self.username.upper()


class Profile(Serializer):
    username: str
    email: Email
    bio: str = ""

    class Config:
        field_sets: ClassVar = {"list": ["username"]}


ProfileList: Any = Profile.fields("list")


class Team(Serializer):
    name: str
    lead: Signup


def _api() -> BoltAPI:
    api = BoltAPI()

    @api.post("/signup", status_code=201)
    async def signup(body: Signup) -> Signup:
        return body

    @api.post("/contacts")
    def contacts(body: Annotated[list[Contact], Body()]) -> list[Contact]:
        return body

    @api.get("/raw")
    async def raw():  # type: ignore[no-untyped-def]
        return Signup(username="ann", password="Secret123", id=1)

    @api.get("/raw-list")
    async def raw_list():  # type: ignore[no-untyped-def]
        return [Signup(username="ann", password="Secret123", id=1)]

    @api.get("/in-a-dict")
    async def in_a_dict():  # type: ignore[no-untyped-def]
        user = Signup(username="ann", password="Secret123", id=1)
        team = Team(name="core", lead=user)  # no write-only field of its own: its lead has one
        return {"user": user, "deep": {"list": [user, 3], "tuple": (user,)}, "team": team}

    @api.get("/in-a-typed-dict")
    async def in_a_typed_dict() -> dict[str, Any]:
        return {"user": Signup(username="ann", password="Secret123", id=1), "n": 1}

    @api.get("/plain-in-a-dict")
    async def plain_in_a_dict():  # type: ignore[no-untyped-def]
        return {"profile": Profile(username="ann", email="a@b.c")}

    @api.get("/from-dict")
    async def from_dict() -> Signup:
        return {"username": "bob", "password": "Secret123", "id": 5}  # type: ignore[return-value]

    @api.get("/bad-output")
    async def bad_output() -> Signup:
        return {"username": "bob", "password": "short", "id": 5}  # type: ignore[return-value]

    @api.get("/maybe/{found}")
    async def maybe(found: bool) -> Signup | None:
        return Signup(username="ann", password="Secret123", id=1) if found else None

    @api.get("/profiles")
    async def profiles() -> list[ProfileList]:  # type: ignore[valid-type]
        return [{"username": "ann", "email": "x", "bio": "hidden"}]

    @api.get("/profile")
    async def profile() -> Profile:
        return Profile(username="ann", email="a@b.c")

    return api


@pytest.fixture
def client() -> Any:
    with TestClient(_api(), raise_server_exceptions=False) as test_client:
        yield test_client


def test_a_body_serializer_validates_and_the_response_uses_its_output(client: Any) -> None:
    response = client.post(
        "/signup",
        json={
            "username": "ann",
            "password": "Secret123",
            "contacts": [{"email": "A@B.C"}],
            "id": 99,
            "displayName": "Ann",
        },
    )
    assert response.status_code == 201, response.text
    assert response.json() == {
        "username": "ann",
        "contacts": [{"email": "a@b.c", "label": "home"}],
        "id": 99,
        "displayName": "Ann",
        "shout": "ANN",
    }


def test_validator_errors_are_one_422_with_locations(client: Any) -> None:
    both = client.post(
        "/signup", json={"username": "ann", "password": "short", "contacts": [{"email": "x"}]}
    )
    assert both.status_code == 422
    # The nested serializer fails while msgspec parses the list: its error carries the path.
    assert both.json()["detail"] == [
        {"loc": ["body", "contacts", 0, "email"], "msg": "Invalid email", "type": "value_error"}
    ]
    fields = client.post("/signup", json={"username": "ann", "password": "short"})
    assert fields.json()["detail"] == [
        {"loc": ["body", "password"], "msg": "Password too short", "type": "value_error"}
    ]
    model = client.post(
        "/signup", json={"username": "ann", "password": "Secret123", "password_confirm": "x"}
    )
    assert model.json()["detail"] == [
        {"loc": ["body"], "msg": "Passwords don't match", "type": "value_error"}
    ]
    many = client.post("/contacts", json=[{"email": "a@b.c"}, {"email": "nope"}])
    assert many.status_code == 422
    assert many.json()["detail"] == [
        {"loc": ["body", 1, "email"], "msg": "Invalid email", "type": "value_error"}
    ]
    short = client.post("/signup", json={"username": "an", "password": "Secret123"})
    assert short.status_code == 422
    assert short.json()["detail"][0]["loc"] == ["body", "username"]
    assert client.post("/contacts", json=[{"email": "A@B.C"}]).json() == [
        {"email": "a@b.c", "label": "home"}
    ]


def test_serializer_results_never_leak_write_only_fields(client: Any) -> None:
    expected = {"username": "ann", "contacts": [], "id": 1, "displayName": "", "shout": "ANN"}
    assert client.get("/raw").json() == expected
    assert client.get("/raw-list").json() == [expected]
    assert client.get("/from-dict").json()["shout"] == "BOB"
    assert "password" not in client.get("/from-dict").json()
    # Output that fails the serializer's validators is the server's fault: 500, not 422.
    assert client.get("/bad-output").status_code == 500
    assert client.get("/profiles").json() == [{"username": "ann"}]
    assert client.get("/maybe/false").json() is None
    assert client.get("/maybe/true").json()["shout"] == "ANN"
    assert client.get("/profile").json() == {"username": "ann", "email": "a@b.c", "bio": ""}


def test_serializers_inside_a_returned_dict_leave_write_only_fields_out(client: Any) -> None:
    user = {"username": "ann", "contacts": [], "id": 1, "displayName": "", "shout": "ANN"}
    body = client.get("/in-a-dict")
    assert b"Secret123" not in body.content
    assert body.json() == {
        "user": user,
        "deep": {"list": [user, 3], "tuple": [user]},
        "team": {"name": "core", "lead": user},
    }
    assert client.get("/in-a-typed-dict").json() == {"user": user, "n": 1}
    # A serializer whose output is its fields is encoded by msgspec as it is.
    assert client.get("/plain-in-a-dict").json() == {
        "profile": {"username": "ann", "email": "a@b.c", "bio": ""}
    }


def test_openapi_components_describe_input_and_output(client: Any) -> None:
    document = client.get("/openapi.json").json()
    validate(document)
    schemas = document["components"]["schemas"]
    signup_in = schemas["Signup"]
    assert signup_in["properties"]["password"]["writeOnly"] is True
    assert signup_in["properties"]["password"]["description"] == "Never sent back"
    assert signup_in["properties"]["id"]["readOnly"] is True
    assert signup_in["properties"]["username"]["minLength"] == 3
    assert "displayName" in signup_in["properties"]
    assert "shout" not in signup_in["properties"]
    output = schemas["SignupOutput"]
    assert "password" not in output["properties"]
    assert "password_confirm" not in output["properties"]
    assert output["properties"]["shout"]["readOnly"] is True
    assert output["properties"]["shout"]["description"] == "Upper-cased username"
    assert "displayName" in output["properties"]
    operation = document["paths"]["/signup"]["post"]
    body_ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert body_ref.endswith("/Signup")
    out_ref = operation["responses"]["201"]["content"]["application/json"]["schema"]["$ref"]
    assert out_ref.endswith("/SignupOutput")
    # Nested serializers are components of their own.
    assert schemas["Contact"]["properties"]["email"]["type"] == "string"
    profile = document["paths"]["/profile"]["get"]["responses"]["200"]
    assert profile["content"]["application/json"]["schema"]["$ref"].endswith("/Profile")
    assert schemas["Profile"]["properties"]["email"]["pattern"]
