"""Serializer behaviour without a database: fields, validators, computed fields, dump, views,
subsets and the built-in types."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

import msgspec
import pytest
from msgspec import Meta

from django_bolt.exceptions import RequestValidationError
from django_bolt.serializers import (
    URL,
    Email,
    NonNegativeInt,
    Port,
    PositiveInt,
    Serializer,
    Slug,
    Username,
    computed_field,
    field,
    field_validator,
    model_validator,
    types as builtin_types,
)


class User(Serializer):
    email: str
    password: str
    name: Annotated[str, Meta(min_length=2)] = "anon"
    nickname: str | None = None

    class Config:
        write_only = frozenset({"password"})
        field_sets: ClassVar = {"list": ["email", "name"], "detail": ["email", "name", "nickname"]}

    @field_validator("email")
    def check_email(cls, value: str) -> str:
        if "@" not in value:
            raise ValueError("Invalid email")
        return value.strip().lower()

    @field_validator("password")
    @classmethod
    def check_length(cls, value: str) -> str:
        if len(value) < 8:
            raise ValueError("Password too short")
        return value

    @field_validator("password")
    def check_upper(cls, value: str) -> str:
        if not any(c.isupper() for c in value):
            raise ValueError("Password must have uppercase")
        return value

    @computed_field
    def display(self) -> str:
        return self.name.title()

    @computed_field(alias="displayLoud")
    def loud(self) -> str:
        return self.display() + "!"


def test_defaults_optional_and_transforming_validators() -> None:
    user = User(email="  ANN@Example.COM ", password="Secret123")
    assert user.email == "ann@example.com"
    assert user.name == "anon"
    assert user.nickname is None
    assert user.to_dict() == {
        "email": "ann@example.com",
        "password": "Secret123",
        "name": "anon",
        "nickname": None,
    }


def test_dump_hides_write_only_and_adds_computed_fields() -> None:
    user = User(email="a@b.c", password="Secret123", name="ann")
    assert user.dump() == {
        "email": "a@b.c",
        "name": "ann",
        "nickname": None,
        "display": "Ann",
        "displayLoud": "Ann!",
    }
    assert user.dump(exclude_none=True) == {
        "email": "a@b.c",
        "name": "ann",
        "display": "Ann",
        "displayLoud": "Ann!",
    }
    assert User(email="a@b.c", password="Secret123").dump(exclude_defaults=True) == {
        "email": "a@b.c",
        "display": "Anon",
        "displayLoud": "Anon!",
    }
    assert msgspec.json.decode(user.dump_json())["displayLoud"] == "Ann!"


def test_errors_of_different_fields_are_collected() -> None:
    with pytest.raises(RequestValidationError) as caught:
        User(email="nope", password="short")
    assert caught.value.errors == [
        {"loc": ["body", "email"], "msg": "Invalid email", "type": "value_error"},
        # The first failing validator of a field stops that field's others.
        {"loc": ["body", "password"], "msg": "Password too short", "type": "value_error"},
    ]
    with pytest.raises(RequestValidationError) as second:
        User(email="a@b.c", password="longbutlower")
    assert [e["msg"] for e in second.value.errors] == ["Password must have uppercase"]


def test_direct_instantiation_skips_meta_but_model_validate_collects_all() -> None:
    assert User(email="a@b.c", password="Secret123", name="x").name == "x"  # Meta not checked
    with pytest.raises(RequestValidationError) as caught:
        User.model_validate({"email": "bad", "password": "Secret123", "name": "x"})
    assert caught.value.errors == [
        {
            "loc": ["body", "name"],
            "msg": "Expected `str` of length >= 2",
            "type": "validation_error",
        },
        {"loc": ["body", "email"], "msg": "Invalid email", "type": "value_error"},
    ]
    with pytest.raises(RequestValidationError) as missing:
        User.model_validate({"name": 3})
    assert {tuple(e["loc"]) for e in missing.value.errors} == {
        ("body", "email"),
        ("body", "password"),
        ("body", "name"),
    }
    parsed = User.model_validate_json(b'{"email": "X@Y.Z", "password": "Secret123"}')
    assert parsed.email == "x@y.z"
    with pytest.raises(RequestValidationError) as broken:
        User.model_validate_json(b'{"email": ')
    assert broken.value.errors[0]["type"] == "json_invalid"
    # Raw msgspec stays fail-fast and raises its own error (the validators' as its cause).
    with pytest.raises(msgspec.ValidationError):
        msgspec.convert({"email": "bad", "password": "Secret123"}, User)


class Passwords(Serializer):
    password: str
    confirm: str
    order: list[str] = msgspec.field(default_factory=list)

    @model_validator(mode="before")
    def first(self) -> None:
        self.order.append("model-before")

    @field_validator("password", mode="before")
    def strip(cls, value: str) -> str:
        return value.strip()

    @field_validator("password")
    def track(cls, value: str) -> str:
        return value

    @model_validator
    def match(self) -> None:
        self.order.append("model-after")
        if self.password != self.confirm:
            raise ValueError("Passwords don't match")


def test_model_validators_run_after_field_validators() -> None:
    ok = Passwords(password=" same ", confirm="same")
    assert ok.order == ["model-before", "model-after"]
    assert ok.password == "same"
    with pytest.raises(RequestValidationError) as caught:
        Passwords(password="a", confirm="b")
    assert caught.value.errors == [
        {"loc": ["body"], "msg": "Passwords don't match", "type": "value_error"}
    ]


def test_decorator_misuse_is_refused_at_class_creation() -> None:
    with pytest.raises(TypeError, match="staticmethod"):

        class Static(Serializer):
            value: int

            @field_validator("value")
            @staticmethod
            def check(value: int) -> int:
                return value

    with pytest.raises(TypeError, match="classmethod"):

        class ClassModel(Serializer):
            value: int

            @model_validator
            @classmethod
            def check(cls) -> None:
                return None

    with pytest.raises(TypeError, match="names no field"):

        class Unknown(Serializer):
            value: int

            @field_validator("other")
            def check(cls, value: int) -> int:
                return value


class Admin(User):
    is_admin: bool = False


def test_inheritance_keeps_fields_validators_and_computed_fields() -> None:
    admin = Admin(email="A@B.C", password="Secret123", is_admin=True)
    assert admin.email == "a@b.c"
    assert admin.dump()["displayLoud"] == "Anon!"
    assert "password" not in admin.dump()
    with pytest.raises(RequestValidationError):
        Admin(email="bad", password="Secret123")


def test_field_options_alias_read_only_write_only_exclude() -> None:
    class Item(Serializer):
        id: int = field(read_only=True)
        item_name: str = field(alias="itemName", description="The name", examples=["pen"])
        secret: str = field(write_only=True, default="")
        internal: int = field(exclude=True, default=0)

    parsed = Item.model_validate({"id": 99, "itemName": "pen", "secret": "s"})
    assert parsed.id is None  # read-only: input never sets it
    assert parsed.item_name == "pen"
    assert parsed.secret == "s"
    assert Item(id=1, item_name="pen", secret="s", internal=5).dump() == {
        "id": 1,
        "itemName": "pen",
    }
    assert Item(id=1, item_name="pen").dump(by_alias=False) == {"id": 1, "item_name": "pen"}
    schema = msgspec.json.schema(Item)["$defs"]["Item"]["properties"]
    assert schema["itemName"]["description"] == "The name"
    assert schema["itemName"]["examples"] == ["pen"]
    assert schema["id"]["readOnly"] is True
    assert schema["secret"]["writeOnly"] is True
    with pytest.raises(TypeError):
        field(read_only=True, write_only=True)


class Address(Serializer):
    street: str
    city: str

    @field_validator("city")
    def known(cls, value: str) -> str:
        if not value:
            raise ValueError("City required")
        return value


class Tag(Serializer):
    name: str

    @computed_field
    def upper(self) -> str:
        return self.name.upper()


class Person(Serializer):
    name: str
    address: Address
    tags: list[Tag] = msgspec.field(default_factory=list)
    previous: Address | None = None


def test_nested_serializers_and_lists_of_them() -> None:
    person = Person(name="ann", address=Address(street="1 Main", city="NYC"), tags=[Tag(name="x")])
    assert person.dump() == {
        "name": "ann",
        "address": {"street": "1 Main", "city": "NYC"},
        "tags": [{"name": "x", "upper": "X"}],
        "previous": None,
    }
    decoded = msgspec.json.decode(
        b'{"name": "b", "address": {"street": "s", "city": "c"}, "tags": [{"name": "t"}]}',
        type=Person,
    )
    assert decoded.tags[0].dump() == {"name": "t", "upper": "T"}


def test_only_exclude_use_and_chaining() -> None:
    user = User(email="a@b.c", password="Secret123", name="ann", nickname="A")
    assert User.only("email", "name").dump(user) == {"email": "a@b.c", "name": "ann"}
    assert User.exclude("nickname", "display", "loud").dump(user) == {
        "email": "a@b.c",
        "name": "ann",
    }
    assert User.use("list").dump(user) == {"email": "a@b.c", "name": "ann"}
    assert User.only("email", "name", "nickname").exclude("nickname").dump(user) == {
        "email": "a@b.c",
        "name": "ann",
    }
    assert User.only("name", "display").dump(user) == {"name": "ann", "display": "Ann"}
    # write-only fields stay out even when named.
    assert User.only("email", "password").dump(user) == {"email": "a@b.c"}
    assert User.only("email").dump_many([user, user]) == [{"email": "a@b.c"}] * 2
    assert User.only("email").dump({"email": "Z@Y.X", "password": "Secret123"}) == {
        "email": "z@y.x"
    }
    with pytest.raises(ValueError, match="no field"):
        User.only("nope")
    with pytest.raises(ValueError, match="no field"):
        User.subset("email", "nope")
    # Excluding a name the class lacks changes nothing (code shared between serializers).
    assert User.exclude("secret_key", "nickname", "display", "loud").dump(user) == {
        "email": "a@b.c",
        "name": "ann",
    }
    with pytest.raises(KeyError, match="no field set"):
        User.use("missing")


def test_subset_and_fields_are_real_classes() -> None:
    mini_cls: Any = User.subset("email", "name", "display")
    assert issubclass(mini_cls, Serializer)
    assert mini_cls.__struct_fields__ == ("email", "name")
    assert mini_cls is User.subset("name", "email", "display")  # built once
    mini = mini_cls(email="  A@B.C", name="ann")
    assert mini.email == "a@b.c"  # the email validator came along
    assert mini.dump() == {"email": "a@b.c", "name": "ann", "display": "Ann"}
    full = User(email="a@b.c", password="Secret123", name="bob")
    assert mini_cls.from_parent(full).dump() == {"email": "a@b.c", "name": "bob", "display": "Bob"}
    list_cls: Any = User.fields("list")
    assert list_cls.__struct_fields__ == ("email", "name")
    assert list_cls(email="x@y.z").dump() == {"email": "x@y.z", "name": "anon"}
    with pytest.raises(RequestValidationError):
        list_cls.model_validate({"email": "bad"})


def test_builtin_types_check_parsed_values() -> None:
    class Signup(Serializer):
        username: Username
        email: Email
        website: URL | None = None
        slug: Slug = "x"
        age: NonNegativeInt = 0
        port: Port = 80
        karma: PositiveInt = 1

    ok = Signup.model_validate(
        {"username": "ann.b", "email": "a@b.co", "website": "https://x.org/a", "port": 8080}
    )
    assert ok.website == "https://x.org/a"
    with pytest.raises(RequestValidationError) as caught:
        Signup.model_validate(
            {
                "username": "has space",
                "email": "nope",
                "website": "ftp://x",
                "slug": "a b",
                "age": -1,
                "port": 70000,
                "karma": 0,
            }
        )
    assert [e["loc"][1] for e in caught.value.errors] == [
        "username",
        "email",
        "website",
        "slug",
        "age",
        "port",
        "karma",
    ]
    for name in builtin_types.__all__:
        msgspec.json.schema(getattr(builtin_types, name))  # each documents itself


def test_fields_may_come_in_any_order_and_are_given_by_keyword() -> None:
    # A required field after an optional one, as Django-Bolt 0.13's serializers allow.
    class Answer(Serializer):
        api_key: str
        request_id: str | None = None
        message: str

    answer = Answer(api_key="k", message="hi")
    assert (answer.api_key, answer.request_id, answer.message) == ("k", None, "hi")
    assert Answer.model_validate({"api_key": "k", "message": "m"}).message == "m"
    with pytest.raises(TypeError):
        Answer("k", None, "hi")  # type: ignore[misc]
