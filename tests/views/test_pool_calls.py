"""How many times a request goes to the thread pool to read models: once.

A ``def`` handler's model result is read and encoded in the pool call that ran the handler, and
a ModelViewSet's retrieve looks the object up, converts and encodes it in one pool call (both
used to take a second trip). Counted at the pool's ``submit``, on SQLite and PostgreSQL.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import msgspec
import pytest

from django_bolt import BoltAPI
from django_bolt.concurrency import SyncPool
from django_bolt.testing import TestClient
from django_bolt.views import ModelViewSet, ReadOnlyModelViewSet

if TYPE_CHECKING:
    from collections.abc import Iterator


class GroupOut(msgspec.Struct):
    id: int
    name: str


@pytest.fixture
def pool_calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The calls submitted to the pool from now on (by the name of what was submitted)."""
    calls: list[str] = []
    submit = SyncPool.submit

    def counting(self: SyncPool, fn: Any) -> Any:
        calls.append(repr(fn)[:80])
        return submit(self, fn)

    monkeypatch.setattr(SyncPool, "submit", counting)
    yield calls


def test_a_def_handlers_model_result_is_read_in_its_own_pool_call(
    alias: str, pool_calls: list[str]
) -> None:
    from django.contrib.auth.models import Group

    api = BoltAPI()

    @api.get("/queryset")
    def queryset() -> list[GroupOut]:
        return Group.objects.using(alias).order_by("id")[:3]  # type: ignore[return-value]

    @api.get("/plain")
    def plain():  # type: ignore[no-untyped-def]
        return Group.objects.using(alias).order_by("id")[:2]

    @api.get("/instance/{pk}")
    def instance(pk: int) -> GroupOut:
        return Group.objects.using(alias).get(pk=pk)  # type: ignore[return-value]

    @api.get("/instances")
    def instances() -> list[GroupOut]:
        return list(Group.objects.using(alias).order_by("-id")[:2])  # type: ignore[return-value]

    @api.get("/not-models", inline=False)  # in the pool, as a def handler that may block
    def not_models() -> list[GroupOut]:
        return [GroupOut(id=1, name="x")]

    @api.get("/empty", status_code=204)
    def empty() -> None:
        return Group.objects.using(alias).all()  # type: ignore[return-value]

    first = Group.objects.using(alias).order_by("id").first()
    assert first is not None
    with TestClient(api) as client:
        cases = [
            ("/queryset", [{"id": first.pk + i, "name": f"g{i + 1:02d}"} for i in range(3)]),
            ("/plain", [{"id": first.pk + i, "name": f"g{i + 1:02d}"} for i in range(2)]),
            (f"/instance/{first.pk}", {"id": first.pk, "name": "g01"}),
            ("/instances", [{"id": first.pk + n - 1, "name": f"g{n}"} for n in (45, 44)]),
            ("/not-models", [{"id": 1, "name": "x"}]),
        ]  # fmt: skip
        for path, expected in cases:
            pool_calls.clear()
            response = client.get(path)
            assert response.status_code == 200, (path, response.text)
            assert response.json() == expected, path
            assert len(pool_calls) == 1, (path, pool_calls)
        pool_calls.clear()
        assert client.get("/empty").status_code == 204
        assert len(pool_calls) == 1


def test_a_model_viewsets_retrieve_takes_one_pool_call(alias: str, pool_calls: list[str]) -> None:
    from django.contrib.auth.models import Group

    api = BoltAPI()

    @api.viewset("/groups")
    class Groups(ModelViewSet):
        queryset = Group.objects.using(alias).all()
        serializer_class = GroupOut

    @api.viewset("/checked")
    class Checked(ReadOnlyModelViewSet):
        queryset = Group.objects.using(alias).all()
        serializer_class = GroupOut

        async def get_object(self, *args: Any, **lookups: Any) -> Any:
            found = await super().get_object(*args, **lookups)
            if found.name == "g02":
                from django_bolt.exceptions import PermissionDenied

                raise PermissionDenied()
            return found

    @api.viewset("/narrowed")
    class Narrowed(ReadOnlyModelViewSet):
        queryset = Group.objects.using(alias).all()
        serializer_class = GroupOut

        async def get_queryset(self) -> Any:
            return (await super().get_queryset()).exclude(name="g01")

    @api.viewset("/filtered")
    class Filtered(ReadOnlyModelViewSet):
        queryset = Group.objects.using(alias).all()
        serializer_class = GroupOut

        async def filter_queryset(self, queryset: Any) -> Any:
            return queryset.exclude(name=self.request.query.get("hide", ""))

    first = Group.objects.using(alias).order_by("id").first()
    assert first is not None
    with TestClient(api) as client:
        # get_queryset() and filter_queryset(), when overridden, still decide what is found.
        for path, found in [
            (f"/narrowed/{first.pk}", False),
            (f"/narrowed/{first.pk + 1}", True),
            (f"/filtered/{first.pk}?hide=g01", False),
            (f"/filtered/{first.pk}?hide=g02", True),
        ]:
            pool_calls.clear()
            assert client.get(path).status_code == (200 if found else 404), path
            assert len(pool_calls) == 1, (path, pool_calls)
        pool_calls.clear()
        assert client.get(f"/groups/{first.pk}").json() == {"id": first.pk, "name": "g01"}
        assert len(pool_calls) == 1, pool_calls
        for missing in ("999999", "abc"):
            pool_calls.clear()
            response = client.get(f"/groups/{missing}")
            assert (response.status_code, response.json()) == (404, {"detail": "Not found"})
            assert len(pool_calls) == 1, pool_calls
        # An overridden get_object() is called as written (its object, then the conversion).
        assert client.get(f"/checked/{first.pk}").json() == {"id": first.pk, "name": "g01"}
        assert client.get(f"/checked/{first.pk + 1}").status_code == 403
        assert client.get("/checked/999999").status_code == 404
        # The other actions still find their object through get_object().
        updated = client.put(f"/groups/{first.pk}", json={"id": first.pk, "name": "renamed"})
        assert updated.json() == {"id": first.pk, "name": "renamed"}
        assert client.delete(f"/groups/{first.pk}").status_code == 204
        assert client.get(f"/groups/{first.pk}").status_code == 404
