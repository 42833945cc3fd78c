"""Serializers made from models (create_serializer, create_serializer_set) and choice fields."""

from __future__ import annotations

import enum
from typing import Any, Literal

import msgspec
import pytest

from django_bolt import BoltAPI
from django_bolt.exceptions import RequestValidationError
from django_bolt.serializers import Serializer, create_serializer, create_serializer_set
from django_bolt.testing import TestClient
from tests.serializers.models import Author, Book


def test_create_serializer_types_the_model_fields() -> None:
    book_cls: Any = create_serializer(Book, exclude=["pages"])
    assert book_cls.__name__ == "BookSerializer"
    assert book_cls.__struct_fields__ == ("id", "title", "status", "author")
    parsed = book_cls.model_validate({"id": 5, "title": "T", "author": 3})
    assert parsed.id is None  # the primary key is read-only
    assert parsed.status == "draft"
    with pytest.raises(RequestValidationError) as caught:
        book_cls.model_validate({"title": "x" * 201, "status": "lost", "author": "a"})
    assert [error["loc"][1] for error in caught.value.errors] == ["title", "status", "author"]
    schema = msgspec.json.schema(book_cls)["$defs"]["BookSerializer"]["properties"]
    assert schema["status"]["enum"] == ["draft", "published"]
    assert schema["title"]["maxLength"] == 200
    with pytest.raises(ValueError, match="no concrete field"):
        create_serializer(Book, fields=["nope"])


def test_create_serializer_set_gives_create_update_public() -> None:
    create, update, public = create_serializer_set(Author, write_only={"bio"})
    assert "id" not in create.__struct_fields__
    assert create(name="ann").dump() == {"name": "ann", "email": ""}
    assert update(email="x@y.z").to_dict(exclude_unset=True) == {"email": "x@y.z"}
    assert public.__struct_fields__ == ("id", "name", "email", "bio")
    assert "bio" not in public(id=1, name="a", bio="secret").dump()


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


class Paint(Serializer):
    color: Color
    finish: Literal["matte", "gloss"] = "matte"


def test_choice_fields_as_enums_and_literals() -> None:
    api = BoltAPI()

    @api.post("/paint")
    async def paint(body: Paint) -> Paint:
        return body

    with TestClient(api) as client:
        assert client.post("/paint", json={"color": "red"}).json() == {
            "color": "red",
            "finish": "matte",
        }
        refused = client.post("/paint", json={"color": "green", "finish": "gloss"})
        assert refused.status_code == 422
        assert refused.json()["detail"][0]["loc"] == ["body", "color"]
