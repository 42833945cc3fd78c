"""discover_application(): BOLT_API, <project>.api, installed apps' api modules."""

from __future__ import annotations

import sys

import pytest
from django.core.exceptions import ImproperlyConfigured

from django_bolt import BoltAPI
from django_bolt.discovery import discover_application
from django_bolt.testing import TestClient


def test_project_api_module_takes_every_module_level_api(settings):
    settings.ROOT_URLCONF = "tests.api.discoproj.urls"
    app = discover_application()
    with TestClient(app) as client:
        assert client.get("/proj").json() == {"from": "project"}
        assert client.get("/extra/ping").json() == {"from": "extra"}


def test_installed_app_api_module_is_found(settings):
    settings.INSTALLED_APPS = [*settings.INSTALLED_APPS, "tests.api.discoapp"]
    app = discover_application()
    with TestClient(app) as client:
        assert client.get("/app").json() == {"from": "app"}


def test_explicit_setting_wins(settings):
    settings.ROOT_URLCONF = "tests.api.discobroken.urls"  # would fail if it were imported
    settings.BOLT_API = ["tests.api.discoproj.api:extra_api"]
    app = discover_application()
    assert isinstance(app, BoltAPI)
    with TestClient(app) as client:
        assert client.get("/extra/ping").status_code == 200
        assert client.get("/proj").status_code == 404


def test_duplicate_route_across_apis_names_both_handlers(settings):
    settings.BOLT_API = ["tests.api.discoproj.api:api", "tests.api.discoapp.api:app_api"]
    with pytest.raises(ImproperlyConfigured, match=r"GET /proj") as info:
        discover_application()
    message = str(info.value)
    assert "tests.api.discoproj.api.proj" in message
    assert "tests.api.discoapp.api.clashing_proj" in message


def test_import_error_inside_api_module_names_the_module(settings):
    settings.ROOT_URLCONF = "tests.api.discobroken.urls"
    with pytest.raises(ImproperlyConfigured, match=r"tests\.api\.discobroken\.api") as info:
        discover_application()
    assert "a_module_that_does_not_exist_anywhere" in str(info.value)


def test_no_api_found_is_a_clear_error(settings):
    settings.ROOT_URLCONF = "tests.urls"
    with pytest.raises(ImproperlyConfigured, match="No BoltAPI found"):
        discover_application()


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        pytest.param("tests.api.discoempty", "module:attr", id="no-colon"),
        pytest.param("tests.api.discoempty:not_an_api", "is not a BoltAPI", id="not-an-api"),
        pytest.param("tests.api.nowhere:api", "error importing tests.api.nowhere", id="no-module"),
    ],
)
def test_bad_bolt_api_setting(settings, spec, message):
    settings.BOLT_API = [spec]
    with pytest.raises(ImproperlyConfigured, match=message):
        discover_application()


@pytest.mark.parametrize(
    "order",
    [
        ["tests.api.discomounted", "tests.api.discomounter"],
        ["tests.api.discomounter", "tests.api.discomounted"],
    ],
)
def test_an_api_another_one_mounts_is_served_under_its_prefix_only(settings, monkeypatch, order):
    # Fresh modules: mount() marks the API when the mounting module is imported, and the
    # answer must not depend on which app's module discovery imported first.
    for name in ("tests.api.discomounted.api", "tests.api.discomounter.api"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    settings.INSTALLED_APPS = [*settings.INSTALLED_APPS, *order]
    app = discover_application()
    with TestClient(app) as client:
        assert client.get("/v1/leaf").json() == {"from": "leaf"}
        assert client.get("/outer").json() == {"from": "outer"}
        assert client.get("/leaf").status_code == 404
