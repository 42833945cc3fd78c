"""Route names and BoltAPI(namespace=) through Django's reverse() (django_bolt.urls)."""

from __future__ import annotations

import sys

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.template import Context, Template
from django.test import override_settings
from django.urls import NoReverseMatch, clear_url_caches, reverse

from django_bolt import BoltAPI
from django_bolt.testing import TestClient
from django_bolt.urls import bolt_urlpatterns, django_route
from tests.ops import named_api


@pytest.fixture
def project_urls():
    sys.modules.pop("django_bolt.urls", None)
    with override_settings(
        BOLT_API=["tests.ops.named_api:api", "tests.ops.named_api:plain"],
        ROOT_URLCONF="tests.ops.named_urls",
    ):
        clear_url_caches()
        yield
    clear_url_caches()
    sys.modules.pop("django_bolt.urls", None)
    sys.modules.pop("tests.ops.named_urls", None)


def test_names_reverse_under_their_namespace_only(project_urls: None) -> None:
    assert reverse("missions:detail", kwargs={"mission_id": 42}) == "/missions/42"
    assert reverse("missions:list_missions") == "/missions"
    assert reverse("missions:file", kwargs={"rest": "a/b.txt"}) == "/files/a/b.txt"
    with pytest.raises(NoReverseMatch):
        reverse("detail", kwargs={"mission_id": 42})
    # An API without a namespace: bare names; a mounted one without its own takes its parent's.
    assert reverse("ping") == "/v2/ping"
    assert reverse("status") == "/v2/inner/status"
    rendered = Template('{% url "missions:detail" mission_id=7 %}').render(Context())
    assert rendered == "/missions/7"


def test_the_api_still_serves_the_paths(project_urls: None) -> None:
    with TestClient(named_api.api) as client:
        assert client.get("/missions/3").json() == {"id": 3}
        # Only the reverse-only pattern matches: the API's JSON 404, not Django's page.
        response = client.get("/missions/abc")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not Found"}


def test_django_route_conversion() -> None:
    assert django_route("/items/{item_id:int}/raw") == "items/<item_id>/raw"
    assert django_route("/files/{rest:path}") == "files/<path:rest>"
    assert django_route("/") == ""


def test_two_explicit_names_for_two_paths_stop_start_up() -> None:
    api = BoltAPI()

    @api.get("/a", name="same")
    async def first() -> dict[str, int]:
        return {}

    @api.get("/b", name="same")
    async def second() -> dict[str, int]:
        return {}

    with pytest.raises(ImproperlyConfigured, match="'same'"):
        bolt_urlpatterns([api])


def test_an_explicit_name_wins_and_methods_share_a_name() -> None:
    api = BoltAPI()

    @api.get("/thing", name="thing")
    async def read() -> dict[str, int]:
        return {}

    @api.delete("/thing", name="thing")
    async def remove() -> dict[str, int]:
        return {}

    @api.get("/other")
    async def thing() -> dict[str, int]:  # derived name "thing": the explicit one wins
        return {}

    patterns = bolt_urlpatterns([api])
    by_name = {pattern.name: str(pattern.pattern) for pattern in patterns}
    assert by_name["thing"] == "thing"
    assert "read" not in by_name
