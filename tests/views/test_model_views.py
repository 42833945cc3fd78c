"""ViewSets and pagination over the Django ORM, on SQLite and on a real PostgreSQL database.

Each test runs twice (``alias``): on the test settings' SQLite and on a fresh PostgreSQL
database. The SQL that reaches the database is recorded from every thread (``queries``), so the
tests see how many queries a page costs and which columns they read.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec

from django_bolt import BoltAPI, CursorPagination, PageNumberPagination, action, paginate
from django_bolt.testing import TestClient
from django_bolt.views import ModelViewSet, ReadOnlyModelViewSet, ViewSet


class GroupOut(msgspec.Struct):
    id: int
    name: str


class GroupName(msgspec.Struct):
    name: str


class GroupIn(msgspec.Struct):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=150)]


class Small(PageNumberPagination):
    page_size = 10
    max_page_size = 20


class ByName(CursorPagination):
    page_size = 10
    ordering = "name"


class ByNameDescending(CursorPagination):
    page_size = 10
    ordering = ("-name",)


def _selected_columns(sql: str) -> str:
    return sql.split(" FROM ", 1)[0]


def test_page_number_counts_once_and_fetches_one_page(alias: str, queries: list[str]) -> None:
    from django.contrib.auth.models import Group

    api = BoltAPI()

    @api.get("/async")
    @paginate(Small)
    async def groups_async() -> list[GroupName]:
        return Group.objects.using(alias).order_by("id")

    @api.get("/sync")
    @paginate(Small)
    def groups_sync() -> list[GroupOut]:
        return Group.objects.using(alias).order_by("id")

    with TestClient(api) as client:
        queries.clear()
        page = client.get("/async?page=2").json()
        assert page["items"] == [{"name": f"g{i:02d}"} for i in range(11, 21)]
        assert page["total"] == 45
        assert page["total_pages"] == 5
        counts = [q for q in queries if "COUNT(" in q.upper()]
        selects = [
            q for q in queries if q.lstrip().upper().startswith("SELECT") and q not in counts
        ]
        assert len(counts) == 1
        assert len(selects) == 1
        assert "LIMIT" in selects[0].upper()
        # The Struct's fields only: a values() projection, not whole rows.
        assert "name" in _selected_columns(selects[0])
        assert '"id"' not in _selected_columns(selects[0])
        sync = client.get("/sync?page=5&page_size=4").json()
        # Ids come from the database: SQLite does not restart them after another test's rows.
        ids = dict(Group.objects.using(alias).values_list("name", "id"))
        names = [f"g{i:02d}" for i in range(17, 21)]
        assert sync["items"] == [{"id": ids[name], "name": name} for name in names]
        assert client.get("/sync?page=13&page_size=4").status_code == 404
        assert client.get("/sync?page=12&page_size=4").json()["items"][0]["name"] == "g45"


def _walk(client: TestClient, path: str) -> list[str]:
    names: list[str] = []
    cursor: str | None = None
    while True:
        url = path if cursor is None else f"{path}?cursor={cursor}"
        page = client.get(url).json()
        names.extend(item["name"] for item in page["items"])
        cursor = page.get("next_cursor")
        if cursor is None:
            assert page["has_next"] is False
            return names


def test_cursor_pages_are_stable_signed_and_reversible(alias: str, queries: list[str]) -> None:
    from django.contrib.auth.models import Group

    groups = Group.objects.using(alias)
    api = BoltAPI()

    @api.get("/up")
    @paginate(ByName)
    async def up() -> list[GroupName]:
        return groups.all()

    @api.get("/down")
    @paginate(ByNameDescending)
    def down() -> list[GroupOut]:
        return groups.all()

    all_names = [f"g{i:02d}" for i in range(1, 46)]
    with TestClient(api) as client:
        queries.clear()
        assert _walk(client, "/up") == all_names
        assert not [q for q in queries if "COUNT(" in q.upper()]
        assert _walk(client, "/down") == all_names[::-1]

        first = client.get("/up").json()
        assert first["has_previous"] is False
        assert "previous_cursor" not in first
        second = client.get(f"/up?cursor={first['next_cursor']}").json()
        # A row inserted before the cursor's position neither repeats nor shifts a row.
        groups.create(name="g005")
        third = client.get(f"/up?cursor={second['next_cursor']}").json()
        assert [i["name"] for i in third["items"]] == all_names[20:30]
        back = client.get(f"/up?cursor={third['previous_cursor']}").json()
        assert [i["name"] for i in back["items"]] == all_names[10:20]
        assert back["has_next"] is True
        again = client.get(f"/up?cursor={back['previous_cursor']}").json()
        assert [i["name"] for i in again["items"]] == all_names[:10]
        assert again["has_previous"] is True
        start = client.get(f"/up?cursor={again['previous_cursor']}").json()
        assert [i["name"] for i in start["items"]] == ["g005"]
        assert start["has_previous"] is False
        assert start["has_next"] is True

        token = second["next_cursor"]
        tampered = token[:-1] + ("A" if token[-1] != "A" else "B")
        for bad in (tampered, "garbage", "a" * 5000, first["next_cursor"] + "x"):
            response = client.get("/up", params={"cursor": bad})
            assert response.status_code == 422, bad
            assert response.json()["detail"][0]["loc"] == ["query", "cursor"]
        # A cursor made by another pagination class is not accepted either.
        down_cursor = client.get("/down").json()["next_cursor"]
        assert client.get("/up", params={"cursor": down_cursor}).status_code == 422


def _group_api(alias: str) -> BoltAPI:
    from django.contrib.auth.models import Group

    api = BoltAPI()

    @api.viewset("/groups", name="group")
    class GroupViewSet(ModelViewSet):
        queryset = Group.objects.using(alias).order_by("id")
        serializer_class = GroupOut
        create_serializer_class = GroupIn
        pagination_class = Small

        async def filter_queryset(self, queryset: Any) -> Any:
            prefix = self.request.query.get("prefix")
            return queryset.filter(name__startswith=prefix) if prefix else queryset

        @action(methods=["POST"], detail=True)
        async def rename(self, request: Any, pk: int, data: GroupIn) -> GroupOut:
            group = await self.get_object()
            group.name = data.name
            await group.asave()
            return group

    @api.viewset("/public")
    class PublicGroups(ReadOnlyModelViewSet):
        queryset = Group.objects.using(alias).order_by("-id")
        serializer_class = GroupOut
        list_serializer_class = GroupName
        pagination_class = Small

    @api.viewset("/named", lookup_field="name")
    class NamedGroups(ViewSet):
        queryset = Group.objects.using(alias)

        async def retrieve(self, request: Any) -> GroupOut:
            return await self.get_object()

        def destroy(self, request: Any, name: str) -> None:
            self.queryset.filter(name=name).delete()

    return api


def test_model_viewset_crud(alias: str) -> None:
    with TestClient(_group_api(alias)) as client:
        page = client.get("/groups?page=2").json()
        assert [i["name"] for i in page["items"]] == [f"g{i:02d}" for i in range(11, 21)]
        filtered = client.get("/groups?prefix=g4").json()
        assert filtered["total"] == 6

        first_id = page["items"][0]["id"]
        assert client.get(f"/groups/{first_id}").json() == {"id": first_id, "name": "g11"}
        assert client.get("/groups/99999999").status_code == 404
        assert client.get("/groups/abc").status_code == 404

        created = client.post("/groups", json={"name": "fresh"})
        assert created.status_code == 201
        new = created.json()
        assert new["name"] == "fresh"
        assert client.get(f"/groups/{new['id']}").json() == new

        for bad in ({}, {"name": ""}, {"name": 5}, {"name": "x" * 151}):
            response = client.post("/groups", json=bad)
            assert response.status_code == 422, bad
            assert response.json()["detail"][0]["loc"][0] == "body"
        duplicate = client.post("/groups", json={"name": "fresh"})
        assert duplicate.status_code == 422
        assert duplicate.json()["detail"][0]["loc"] == ["body", "name"]

        updated = client.put(f"/groups/{new['id']}", json={"name": "renamed"})
        assert updated.json() == {"id": new["id"], "name": "renamed"}
        unchanged = client.patch(f"/groups/{new['id']}", json={})
        assert unchanged.json() == {"id": new["id"], "name": "renamed"}
        patched = client.patch(f"/groups/{new['id']}", json={"name": "patched"})
        assert patched.json()["name"] == "patched"
        assert client.patch(f"/groups/{new['id']}", json={"name": 1}).status_code == 422
        renamed = client.post(f"/groups/{new['id']}/rename", json={"name": "by-action"})
        assert renamed.json() == {"id": new["id"], "name": "by-action"}

        deleted = client.delete(f"/groups/{new['id']}")
        assert deleted.status_code == 204
        assert client.get(f"/groups/{new['id']}").status_code == 404
        assert client.delete(f"/groups/{new['id']}").status_code == 404


def test_read_only_and_custom_lookup(alias: str) -> None:
    from django.contrib.auth.models import Group

    with TestClient(_group_api(alias)) as client:
        public = client.get("/public").json()
        assert public["items"][0] == {"name": "g45"}
        last = Group.objects.using(alias).get(name="g45").pk
        assert client.get(f"/public/{last}").json() == {"id": last, "name": "g45"}
        assert client.post("/public", json={"name": "x"}).status_code == 405
        assert client.delete("/public/1").status_code == 405

        named = client.get("/named/g07").json()
        assert named["name"] == "g07"
        assert client.get("/named/nope").status_code == 404
        assert client.delete("/named/g07").status_code == 204
        assert client.get("/named/g07").status_code == 404


def test_openapi_of_a_model_viewset(alias: str) -> None:
    from openapi_spec_validator import validate

    with TestClient(_group_api(alias)) as client:
        document = client.get("/openapi.json").json()
    validate(document)
    paths = document["paths"]
    create = paths["/groups"]["post"]
    body_ref = create["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert body_ref.endswith("/GroupIn")
    assert "201" in create["responses"]
    patch = paths["/groups/{pk}"]["patch"]
    patch_ref = patch["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    patch_schema = document["components"]["schemas"][patch_ref.rsplit("/", 1)[1]]
    assert patch_schema.get("required", []) == []
    listing = {p["name"] for p in paths["/groups"]["get"]["parameters"]}
    assert listing == {"page", "page_size"}
    assert "204" in paths["/groups/{pk}"]["delete"]["responses"]


def test_destroy_calls_either_spelling_of_the_hook(alias: str) -> None:
    from django.contrib.auth.models import Group

    api = BoltAPI()
    seen: list[str] = []

    @api.viewset("/modern")
    class Modern(ModelViewSet):
        queryset = Group.objects.using(alias).order_by("id")
        serializer_class = GroupOut

        async def perform_destroy(self, obj: Any) -> None:
            seen.append(f"destroy {obj.name}")
            await obj.adelete()

    # Django-Bolt 0.13's spelling: a subclass written for it overrides perform_destory.
    @api.viewset("/legacy")
    class Legacy(ModelViewSet):
        queryset = Group.objects.using(alias).order_by("id")
        serializer_class = GroupOut

        async def perform_destory(self, obj: Any) -> None:
            seen.append(f"destory {obj.name}")
            obj.name = f"archived-{obj.name}"
            await obj.asave()

    first, second = Group.objects.using(alias).order_by("id").values_list("id", flat=True)[:2]
    with TestClient(api) as client:
        assert client.delete(f"/modern/{first}").status_code == 204
        assert client.delete(f"/legacy/{second}").status_code == 204
    assert seen == ["destroy g01", "destory g02"]
    assert not Group.objects.using(alias).filter(id=first).exists()
    assert Group.objects.using(alias).get(id=second).name == "archived-g02"
