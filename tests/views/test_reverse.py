"""Route names reversed with Django's reverse() through django_bolt.urls."""

from __future__ import annotations

import sys
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.urls import NoReverseMatch, clear_url_caches, reverse

from django_bolt import BoltAPI
from django_bolt.views import APIView


@pytest.fixture
def project_urls(settings: Any) -> Any:
    settings.ROOT_URLCONF = "tests.views.reverse_urls"
    settings.BOLT_API = ["tests.views.reverse_app:api"]
    sys.modules.pop("django_bolt.urls", None)
    clear_url_caches()
    yield
    sys.modules.pop("django_bolt.urls", None)
    clear_url_caches()


def test_reverse_routes_views_viewsets_and_actions(project_urls: None) -> None:
    assert reverse("mission-detail", kwargs={"mission_id": 42}) == "/api/missions/42"
    assert reverse("get_file", kwargs={"rest": "a/b.txt"}) == "/api/files/a/b.txt"
    assert reverse("missions:detail", kwargs={"mission_id": 7}) == "/api/m/7"
    with pytest.raises(NoReverseMatch):
        reverse("detail", kwargs={"mission_id": 7})
    assert reverse("user-list") == "/api/users"
    assert reverse("user-partial_update", kwargs={"pk": 3}) == "/api/users/3"
    assert reverse("user-recent") == "/api/users/recent"
    assert reverse("user-activate-now", kwargs={"pk": 3}) == "/api/users/3/activate"
    assert reverse("TeamViewSet-retrieve", kwargs={"pk": 9}) == "/api/teams/9"
    assert reverse("HelloView") == "/api/hello"


def test_name_collisions() -> None:
    from django_bolt.urls import build_urlpatterns

    api = BoltAPI()

    @api.get("/a", name="same")
    async def first() -> None: ...

    @api.get("/b")
    async def same() -> None: ...  # a derived name: the explicit one wins

    @api.view("/c", name="shared")
    class Both(APIView):
        async def get(self) -> None: ...

        async def post(self) -> None: ...

    patterns = build_urlpatterns(api.routes())
    assert {(p.name, str(p.pattern)) for p in patterns} == {("same", "a"), ("shared", "c")}

    @api.get("/d", name="same")
    async def clash() -> None: ...

    with pytest.raises(ImproperlyConfigured, match="same"):
        build_urlpatterns(api.routes())
