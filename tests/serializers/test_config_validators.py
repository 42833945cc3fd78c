"""``Config.validators``: validators given per field in the serializer's Config, called with the
value after the field's ``@field_validator`` ones, their errors collected with the others."""

from __future__ import annotations

from typing import Any, ClassVar

import msgspec
import pytest

from django_bolt import BoltAPI
from django_bolt.exceptions import RequestValidationError, SerializerValidationError
from django_bolt.serializers import Serializer, field_validator
from django_bolt.testing import TestClient


def strip(value: str) -> str:
    return value.strip()


def no_spaces(value: str) -> None:
    if " " in value:
        raise ValueError("No spaces allowed")  # returns None otherwise: the value is kept


def shout(value: str) -> str:
    return value.upper()


def positive(value: int) -> int:
    if value <= 0:
        raise ValueError("Must be positive")
    return value


class Product(Serializer):
    code: str
    name: str
    stock: int = 0

    class Config:
        validators: ClassVar = {
            "code": [strip, no_spaces, shout],
            "name": strip,  # one callable alone
            "stock": [positive],
        }

    @field_validator("code")
    def only_letters(cls, value: str) -> str:
        # Runs before Config.validators: the value still has its spaces around it.
        if not value.replace(" ", "").isalpha():
            raise ValueError("Letters only")
        return value


def test_config_validators_run_in_order_and_transform() -> None:
    product = Product(code="  abc ", name=" Lamp ", stock=3)
    assert (product.code, product.name, product.stock) == ("ABC", "Lamp", 3)


def test_a_class_with_config_validators_alone_runs_them() -> None:
    class Tag(Serializer):
        label: str

        class Config:
            validators: ClassVar = {"label": [strip, shout]}

    assert Tag(label=" new ").label == "NEW"
    assert msgspec.convert({"label": " a "}, Tag).label == "A"


def test_they_run_after_the_field_validators_and_stop_at_a_fields_first_error() -> None:
    with pytest.raises(SerializerValidationError) as caught:
        Product(code="a1", name="x", stock=1)
    # @field_validator rejected the code: Config.validators of that field did not run.
    assert caught.value.errors == [
        {"loc": ["body", "code"], "msg": "Letters only", "type": "value_error"}
    ]
    with pytest.raises(SerializerValidationError) as second:
        Product(code="a b", name="x", stock=1)
    assert [e["msg"] for e in second.value.errors] == ["No spaces allowed"]


def test_errors_of_several_fields_are_collected() -> None:
    with pytest.raises(RequestValidationError) as caught:
        Product.model_validate({"code": "a b", "name": "ok", "stock": 0})
    assert caught.value.errors == [
        {"loc": ["body", "code"], "msg": "No spaces allowed", "type": "value_error"},
        {"loc": ["body", "stock"], "msg": "Must be positive", "type": "value_error"},
    ]
    # Decoding runs them as well (msgspec's error, ours as its cause).
    with pytest.raises(msgspec.ValidationError):
        msgspec.json.decode(b'{"code": "abc", "name": "n", "stock": -1}', type=Product)


def test_a_request_body_failing_them_is_a_422_with_every_error() -> None:
    api = BoltAPI()

    @api.post("/products")
    async def create(data: Product) -> dict[str, Any]:
        return {"code": data.code, "name": data.name}

    with TestClient(api) as client:
        ok = client.post("/products", json={"code": " lamp", "name": " Desk lamp ", "stock": 2})
        assert ok.status_code == 200
        assert ok.json() == {"code": "LAMP", "name": "Desk lamp"}
        refused = client.post("/products", json={"code": "a b", "name": "n", "stock": -5})
    assert refused.status_code == 422
    assert [(e["loc"], e["msg"]) for e in refused.json()["detail"]] == [
        (["body", "code"], "No spaces allowed"),
        (["body", "stock"], "Must be positive"),
    ]


def test_inheritance_follows_the_config_class() -> None:
    class Inherits(Product):
        note: str = ""

    assert Inherits(code="ab", name="n", stock=1).code == "AB"
    with pytest.raises(SerializerValidationError):
        Inherits(code="ab", name="n", stock=0)

    class OwnConfig(Product):
        class Config:  # replaces the base's Config, its validators included
            validators: ClassVar = {"name": [shout]}

    replaced = OwnConfig(code="ab", name="n", stock=0)  # stock is no longer checked
    assert (replaced.code, replaced.name) == ("ab", "N")

    class Extends(Product):
        class Config(Product.Config):  # keeps them
            pass

    assert Extends(code="ab", name="n", stock=2).code == "AB"


def test_subsets_keep_those_of_their_fields() -> None:
    mini = Product.subset("code", "name")
    assert mini(code=" ab", name="n").code == "AB"
    with pytest.raises(SerializerValidationError):
        mini(code="a b", name="n")


@pytest.mark.parametrize(
    ("validators", "message"),
    [
        pytest.param({"missing": [strip]}, "names no field", id="unknown-field"),
        pytest.param({"code": ["strip"]}, "not callable", id="not-callable"),
        pytest.param([strip], "must be a dict", id="not-a-dict"),
    ],
)
def test_misuse_is_refused_when_the_class_is_created(validators: Any, message: str) -> None:
    with pytest.raises(TypeError, match=message):

        class Broken(Serializer):
            code: str

            class Config:
                pass

            Config.validators = validators  # type: ignore[attr-defined]
