"""A Serializer grouping form or query values reports its validators' errors one by one, under
the field's name in the request (0.13's topics/requests.md, "Parameter models")."""

from __future__ import annotations

from typing import Annotated

from django_bolt import BoltAPI
from django_bolt.param_functions import Form, Query
from django_bolt.serializers import Serializer, field, field_validator
from django_bolt.testing import TestClient


class RegisterForm(Serializer):
    username: str
    email: str
    nick: str = field(alias="nick-name", default="")

    @field_validator("username")
    def validate_username(cls, value: str) -> str:
        if len(value) < 3:
            raise ValueError("Username must be at least 3 characters")
        return value

    @field_validator("nick")
    def validate_nick(cls, value: str) -> str:
        if value == "root":
            raise ValueError("Nickname is reserved")
        return value


def build_api() -> BoltAPI:
    api = BoltAPI()

    @api.post("/register")
    async def register(form: Annotated[RegisterForm, Form()]):
        return {"username": form.username}

    @api.get("/search")
    async def search(params: Annotated[RegisterForm, Query()]):
        return {"username": params.username}

    return api


def test_each_validator_error_is_an_item_under_the_form_field() -> None:
    with TestClient(build_api()) as client:
        got = client.post(
            "/register", data={"username": "ab", "email": "a@b.c", "nick-name": "root"}
        )
        assert got.status_code == 422
        items = {tuple(item["loc"]): item["msg"] for item in got.json()["detail"]}
        assert items == {
            ("form", "username"): "Username must be at least 3 characters",
            ("form", "nick-name"): "Nickname is reserved",
        }
        ok = client.post("/register", data={"username": "ann", "email": "a@b.c"})
        assert (ok.status_code, ok.json()) == (200, {"username": "ann"})


def test_query_groups_report_the_same_way() -> None:
    with TestClient(build_api()) as client:
        got = client.get("/search?username=ab&email=x")
        assert got.status_code == 422
        assert [item["loc"] for item in got.json()["detail"]] == [["query", "username"]]
