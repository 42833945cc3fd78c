"""ViewSet details: serializer priority, get_object forms, hooks, misuse errors, isolation."""

from __future__ import annotations

import asyncio
from typing import Any

import msgspec
import pytest

from django_bolt import BoltAPI, action
from django_bolt.exceptions import ConfigurationError
from django_bolt.testing import AsyncTestClient, TestClient
from django_bolt.views import APIView, ModelViewSet, ViewSet

from .test_model_views import GroupIn, GroupOut


class Full(msgspec.Struct):
    id: int
    name: str


class Mini(msgspec.Struct):
    name: str


class CreateIn(msgspec.Struct):
    name: str


class UpdateIn(msgspec.Struct):
    name: str


def test_serializer_priority_table() -> None:
    class Everything(ViewSet):
        serializer_class = Full
        list_serializer_class = Mini
        create_serializer_class = CreateIn
        update_serializer_class = UpdateIn

    class CreateOnly(ViewSet):
        serializer_class = Full
        create_serializer_class = CreateIn

    class Bare(ViewSet):
        pass

    pick = Everything.get_default_serializer_class
    assert pick("list") is Mini
    assert pick("retrieve") is Full
    assert pick("create") is CreateIn
    assert pick("update") is UpdateIn
    assert pick("partial_update") is UpdateIn
    assert pick("destroy") is Full
    assert CreateOnly.get_default_serializer_class("update") is CreateIn
    assert CreateOnly.get_default_serializer_class("list") is Full
    view = Everything()
    view.action = "list"
    assert view.get_serializer_class() is Mini
    assert view.get_serializer_class("create") is CreateIn
    with pytest.raises(ConfigurationError):
        Bare.get_default_serializer_class("retrieve")


def test_model_viewset_misconfiguration_fails_at_registration() -> None:
    from django.contrib.auth.models import Group

    api = BoltAPI()

    class NoSerializer(ModelViewSet):
        queryset = Group.objects.all()

    with pytest.raises(ConfigurationError, match="serializer class"):
        api.viewset("/a")(NoSerializer)

    class Stray(msgspec.Struct):
        name: str
        colour: str

    class StrayField(ModelViewSet):
        queryset = Group.objects.all()
        serializer_class = Full
        create_serializer_class = Stray

    with pytest.raises(ConfigurationError, match="colour"):
        api.viewset("/b")(StrayField)

    class NotAStruct(ModelViewSet):
        queryset = Group.objects.all()
        serializer_class = dict

    with pytest.raises(ConfigurationError):
        api.viewset("/c")(NotAStruct)


def _lookup_api(alias: str) -> BoltAPI:
    from django.contrib.auth.models import Group

    api = BoltAPI()

    @api.viewset("/g")
    class LookupViewSet(ModelViewSet):
        queryset = Group.objects.using(alias).order_by("id")
        serializer_class = GroupOut
        create_serializer_class = GroupIn

        @action(methods=["GET"], detail=False, path="by-name/{name}")
        async def by_name(self, request: Any, name: str) -> GroupOut:
            return await self.get_object(name=name)

        @action(methods=["GET"], detail=False)
        async def explicit(self, request: Any, pk: int) -> GroupOut:
            return await self.get_object(pk)

        @action(methods=["GET"], detail=False)
        def count(self, request: Any) -> dict[str, int]:
            # A def action: the ORM directly, on a fresh clone of the queryset.
            return {"count": self.queryset.count()}

        @action(methods=["GET"], detail=False)
        def names(self, request: Any) -> list[GroupIn]:
            return self.queryset.filter(name__endswith="5")

    return api


def test_unpaginated_list_get_object_forms_and_def_actions(alias: str) -> None:
    from django.contrib.auth.models import Group

    pk = Group.objects.using(alias).get(name="g07").pk
    with TestClient(_lookup_api(alias)) as client:
        listed = client.get("/g").json()
        assert len(listed) == 45
        assert listed[0] == {"id": listed[0]["id"], "name": "g01"}
        assert client.get("/g/by-name/g07").json() == {"id": pk, "name": "g07"}
        assert client.get("/g/by-name/none").status_code == 404
        assert client.get(f"/g/explicit?pk={pk}").json()["name"] == "g07"
        assert client.get("/g/explicit?pk=0").status_code == 404
        assert client.get("/g/count").json() == {"count": 45}
        assert client.get("/g/names").json() == [
            {"name": n} for n in ("g05", "g15", "g25", "g35", "g45")
        ]


def test_initialize_hook_head_and_instance_attributes() -> None:
    api = BoltAPI()

    @api.view("/hooked")
    class Hooked(APIView):
        def __init__(self, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self.calls = ["init"]

        def initialize(self, request: Any) -> None:
            self.calls.append(f"initialize {request.method}")

        async def get(self, request: Any) -> list[str]:
            return self.calls

        async def head(self, request: Any) -> None:
            return None

    with TestClient(api) as client:
        assert client.get("/hooked").json() == ["init", "initialize GET"]
        assert client.head("/hooked").status_code == 200


def test_each_request_sees_its_own_instance() -> None:
    api = BoltAPI()

    @api.viewset("/slow")
    class SlowViewSet(ViewSet):
        async def list(self, request: Any, n: int) -> dict[str, Any]:
            self.n = n
            await asyncio.sleep(0.01 * (n % 3))
            return {"n": self.n, "query": self.request.query["n"], "action": self.action}

    async def main() -> list[Any]:
        async with AsyncTestClient(api) as client:
            return await asyncio.gather(*(client.get(f"/slow?n={i}") for i in range(12)))

    for i, answer in enumerate(asyncio.run(main())):
        assert answer.json() == {"n": i, "query": str(i), "action": "list"}


def test_viewset_takes_its_model_as_a_type_parameter() -> None:
    from django.contrib.auth.models import Group

    api = BoltAPI()

    @api.viewset("/typed")
    class TypedViewSet(ViewSet[Group]):
        async def list(self, request: Any) -> list[int]:
            return [1]

    with TestClient(api) as client:
        assert client.get("/typed").json() == [1]
