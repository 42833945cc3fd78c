"""FrameworkConfig: its defaults, each check's message, the cache and its reset, no settings.

Through the public surface: ``django_bolt.conf``, ``override_settings`` / the ``settings``
fixture, and an API's compile and TestClient for "a mistake stops start-up".
"""

from __future__ import annotations

import dataclasses
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from django.conf import global_settings
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from django_bolt import BoltAPI, conf
from django_bolt.auth import JWTAuthentication
from django_bolt.conf import (
    DEFAULT_CONFIG,
    FRAMEWORK_SETTINGS,
    SETTINGS_TABLE,
    FrameworkConfig,
    cache_until_settings_change,
    framework_config,
    framework_setting,
    read_framework_config,
)
from django_bolt.testing import TestClient

ROOT = Path(__file__).resolve().parent.parent


def _read(**settings: Any) -> FrameworkConfig:
    return read_framework_config(SimpleNamespace(**settings))


def _api() -> BoltAPI:
    api = BoltAPI()

    @api.get("/x")
    async def x() -> dict[str, bool]:
        return {"x": True}

    return api


# --- the table ---------------------------------------------------------------------------------


def test_each_field_is_its_setting_in_lower_case_with_a_help_text() -> None:
    for f, setting in SETTINGS_TABLE:
        assert f.name == setting.name.lower()
        assert setting.help.endswith("."), setting.name
    names = [setting.name for _, setting in SETTINGS_TABLE]
    assert len(names) == len(set(names))
    # Every field but `configured` is a setting.
    assert {f.name for f in dataclasses.fields(FrameworkConfig)} - {
        f.name for f, _ in SETTINGS_TABLE
    } == {"configured"}


def test_the_defaults_pass_their_own_checks() -> None:
    for f, setting in SETTINGS_TABLE:
        assert setting.parse(f.default) == f.default, setting.name
    assert FrameworkConfig() == DEFAULT_CONFIG
    assert not DEFAULT_CONFIG.configured
    # Settings that set nothing read as the defaults.
    assert dataclasses.replace(_read(), configured=False) == DEFAULT_CONFIG


def test_django_settings_default_to_djangos_own_defaults() -> None:
    for f, setting in SETTINGS_TABLE:
        if hasattr(global_settings, setting.name):
            written = getattr(global_settings, setting.name)
            # Compared as read: a setting parsed into another form (SECURE_CSP's dict becomes
            # its header) is compared in that form.
            assert f.default == setting.parse(written), setting.name


def test_the_config_is_frozen_and_slotted() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        DEFAULT_CONFIG.debug = True  # type: ignore[misc]
    assert not hasattr(DEFAULT_CONFIG, "__dict__")


def test_the_secret_key_is_never_shown() -> None:
    config = _read(SECRET_KEY="a-very-secret-value")
    assert config.secret_key == "a-very-secret-value"
    assert "a-very-secret-value" not in repr(config)
    with pytest.raises(ImproperlyConfigured) as caught:
        _read(SECRET_KEY=["a-very-secret-value"])
    assert str(caught.value) == "SECRET_KEY = (value not shown): expected a str"


# --- reading --------------------------------------------------------------------------------------


def test_framework_config_reads_djangos_settings() -> None:
    config = framework_config()
    assert config.configured
    assert config.root_urlconf == "tests.urls"
    assert "*" in config.allowed_hosts
    assert config.bolt_sync_pool_size == 40
    assert config.static_url == "/static/"
    assert "django.middleware.csrf.CsrfViewMiddleware" in config.middleware


@pytest.mark.parametrize(
    ("settings", "field", "expected"),
    [
        pytest.param({"DEBUG": 1}, "debug", True, id="django-flag-by-truth"),
        pytest.param({"SESSION_COOKIE_SECURE": "yes"}, "session_cookie_secure", True, id="truth"),
        pytest.param({"STATIC_ROOT": Path("/srv/static")}, "static_root", "/srv/static", id="path"),
        pytest.param({"FILE_UPLOAD_TEMP_DIR": ""}, "file_upload_temp_dir", None, id="empty-dir"),
        pytest.param({"SESSION_COOKIE_SAMESITE": False}, "session_cookie_samesite", None, id="ss"),
        pytest.param({"ALLOWED_HOSTS": ["a.example"]}, "allowed_hosts", ("a.example",), id="list"),
        pytest.param({"BOLT_API": "m:api"}, "bolt_api", ("m:api",), id="one-api"),
        pytest.param(
            {"BOLT_ALLOWED_FILE_PATHS": [Path("/srv")]}, "bolt_allowed_file_paths", ("/srv",)
        ),
        pytest.param({"BOLT_AUTHENTICATION_CLASSES": None}, "bolt_authentication_classes", ()),
        pytest.param(
            {"CORS_ALLOWED_ORIGINS": ("HTTPS://App.Example:8443",)},
            "cors_allowed_origins",
            ("https://app.example:8443",),
            id="origin-case",
        ),
        pytest.param({"DATA_UPLOAD_MAX_MEMORY_SIZE": None}, "data_upload_max_memory_size", None),
    ],
)
def test_values_are_stored_typed(settings: dict[str, Any], field: str, expected: Any) -> None:
    assert getattr(_read(**settings), field) == expected


def test_older_names_are_read_when_the_setting_is_not_set() -> None:
    old = _read(CORS_ORIGIN_WHITELIST=["https://old.example"], CORS_MAX_AGE=60)
    assert old.cors_allowed_origins == ("https://old.example",)
    assert old.cors_preflight_max_age == 60
    both = _read(CORS_ALLOWED_ORIGINS=[], CORS_ORIGIN_WHITELIST=["https://old.example"])
    assert both.cors_allowed_origins == ()
    assert _read(CORS_PREFLIGHT_MAX_AGE=10, CORS_MAX_AGE=60).cors_preflight_max_age == 10


def _message(name: str, value: Any, expected: str) -> str:
    return f"{name} = {value!r}: expected {expected}"


def _regex_error(pattern: str) -> str:
    try:
        re.compile(pattern)
    except re.error as exc:
        return str(exc)
    raise AssertionError(pattern)


ORIGIN_SHAPE = (
    "must look like 'https://example.com' (scheme and host, optionally a port; no path or "
    "trailing slash)"
)


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("BOLT_SYNC_POOL_SIZE", 0, "an int >= 1"),
        ("BOLT_SYNC_POOL_SIZE", "40", "an int >= 1"),
        ("BOLT_SYNC_POOL_SIZE", True, "an int >= 1"),
        ("BOLT_MEMORY_SPOOL_THRESHOLD", -1, "an int >= 0"),
        ("BOLT_RATE_LIMIT_MAX_KEYS", 0, "an int >= 1"),
        ("BOLT_RATE_LIMIT_BACKEND", 1, "a str, or None"),
        ("BOLT_EMIT_SIGNALS", "yes", "True or False"),
        ("BOLT_API", "module.api", "entries that look like 'module:attr' ('module.api' does not)"),
        ("BOLT_API", [1], "a list of strings"),
        ("DEBUG", "False", "a bool or an int"),
        ("DEBUG", None, "a bool or an int"),
        ("BOLT_ALLOWED_FILE_PATHS", "/srv", "a list of directories (str or pathlib.Path)"),
        ("BOLT_ALLOWED_FILE_PATHS", [1], "a list of directories (str or pathlib.Path)"),
        (
            "BOLT_DEFAULT_PERMISSION_CLASSES",
            "django_bolt.auth.IsAuthenticated",
            "a list of auth classes or guards (instances, classes or dotted paths)",
        ),
        ("CORS_ALLOWED_ORIGINS", "https://a.example", "a list of origins (scheme://host[:port])"),
        ("CORS_ALLOWED_ORIGINS", ["a.example"], f"a list of origins: 'a.example' {ORIGIN_SHAPE}"),
        (
            "CORS_ALLOWED_ORIGINS",
            ["https://a.example/"],
            f"a list of origins: 'https://a.example/' {ORIGIN_SHAPE}",
        ),
        (
            "CORS_ALLOWED_ORIGINS",
            ["https://a.example:99999"],
            f"a list of origins: 'https://a.example:99999' {ORIGIN_SHAPE}",
        ),
        ("CORS_ALLOWED_ORIGINS", ["null"], f"a list of origins: 'null' {ORIGIN_SHAPE}"),
        (
            "CORS_ALLOWED_ORIGINS",
            ["*"],
            "a list of origins: use CORS_ALLOW_ALL_ORIGINS, not '*' in the origin list",
        ),
        ("CORS_ALLOWED_ORIGINS", [1], "a list of origins: 1 is not a string"),
        (
            "CORS_ALLOWED_ORIGIN_REGEXES",
            ["https://(a"],
            f"a list of regular expressions ('https://(a': {_regex_error('https://(a')})",
        ),
        ("CORS_ALLOW_CREDENTIALS", "true", "True or False"),
        ("CORS_ALLOW_ALL_ORIGINS", 1, "True or False"),
        ("CORS_ALLOW_METHODS", "GET", "a list of strings"),
        ("CORS_PREFLIGHT_MAX_AGE", -1, "an int >= 0"),
        ("ALLOWED_HOSTS", "a.example", "a list of strings"),
        ("MIDDLEWARE", [object], "a list of strings"),
        ("ROOT_URLCONF", 3, "a str, or None"),
        ("SESSION_COOKIE_NAME", None, "a str"),
        ("SESSION_COOKIE_SAMESITE", "Sometimes", "'Lax', 'Strict', 'None' or False"),
        ("DATA_UPLOAD_MAX_MEMORY_SIZE", "2.5MB", "an int >= 0, or None"),
        ("DATA_UPLOAD_MAX_NUMBER_FIELDS", -1, "an int >= 0, or None"),
        ("FILE_UPLOAD_TEMP_DIR", 3, "a path (str or pathlib.Path)"),
        ("MEDIA_ROOT", None, "a path (str or pathlib.Path)"),
    ],
)
def test_a_value_that_cannot_be_used_is_named_with_what_was_expected(
    name: str, value: Any, expected: str
) -> None:
    with pytest.raises(ImproperlyConfigured) as caught:
        _read(**{name: value})
    assert str(caught.value) == _message(name, value, expected)


def test_an_older_name_is_named_as_written() -> None:
    with pytest.raises(ImproperlyConfigured) as caught:
        _read(CORS_MAX_AGE="1h")
    assert str(caught.value) == (
        "CORS_MAX_AGE (read as CORS_PREFLIGHT_MAX_AGE) = '1h': expected an int >= 0"
    )


def test_an_empty_secret_key_reads_as_unset_and_jwt_refuses_it(settings: Any) -> None:
    # Django itself refuses to hand out an empty SECRET_KEY; no other setting needs one.
    settings.SECRET_KEY = ""
    assert framework_config().secret_key == ""
    with pytest.raises(ImproperlyConfigured, match="SECRET_KEY is empty"):
        JWTAuthentication().secret  # noqa: B018


# --- the cache and its reset ----------------------------------------------------------------------


def test_read_once_and_read_again_after_a_setting_changes() -> None:
    first = framework_config()
    assert framework_config() is first
    with override_settings(BOLT_SYNC_POOL_SIZE=3):
        inside = framework_config()
        assert inside.bolt_sync_pool_size == 3
        assert framework_config() is inside
    after = framework_config()
    assert after is not inside
    assert after.bolt_sync_pool_size == 40


def test_the_settings_fixture_resets_it_too(settings: Any) -> None:
    settings.CORS_ALLOWED_ORIGINS = ["https://app.example"]
    assert framework_config().cors_allowed_origins == ("https://app.example",)
    del settings.CORS_ALLOWED_ORIGINS
    assert framework_config().cors_allowed_origins == ()


def test_derived_values_are_reset_with_it() -> None:
    calls: list[int] = []

    @cache_until_settings_change
    def pool_threads() -> int:
        calls.append(1)
        return framework_config().bolt_sync_pool_size * 2

    assert (pool_threads(), pool_threads(), len(calls)) == (80, 80, 1)
    with override_settings(BOLT_SYNC_POOL_SIZE=2):
        assert pool_threads() == 4
    assert (pool_threads(), len(calls)) == (80, 3)


# --- a mistake stops start-up -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value"),
    [
        # Before FrameworkConfig these failed on the first upload, not at start-up.
        pytest.param("BOLT_MEMORY_SPOOL_THRESHOLD", "1MB", id="spool"),
        pytest.param("DATA_UPLOAD_MAX_MEMORY_SIZE", "big", id="upload-limit"),
        pytest.param("SESSION_COOKIE_SAMESITE", "sometimes", id="samesite"),
        pytest.param("BOLT_SYNC_POOL_SIZE", "40", id="pool"),
    ],
)
def test_a_wrong_type_is_refused_when_the_api_compiles(
    settings: Any, name: str, value: Any
) -> None:
    setattr(settings, name, value)
    with pytest.raises(ImproperlyConfigured, match=f"^{name} = "):
        _api().compile()
    # The TestClient starts the API before its first request: an error, not a 500 response.
    with pytest.raises(ImproperlyConfigured, match=f"^{name} = "), TestClient(_api()) as client:
        client.get("/x")


def test_without_django_settings_the_defaults_apply_until_they_are_configured() -> None:
    script = textwrap.dedent(
        """
        from django.conf import settings
        from django_bolt import BoltAPI
        from django_bolt.conf import DEFAULT_CONFIG, framework_config, framework_setting
        from django_bolt.testing import TestClient

        assert framework_config() is DEFAULT_CONFIG and not DEFAULT_CONFIG.configured
        assert framework_setting("BOLT_SYNC_POOL_SIZE") == 40
        api = BoltAPI()

        @api.get("/x")
        async def x() -> dict:
            return {"x": 1}

        with TestClient(api) as client:  # no Host check, no Django: a bare API works
            assert client.get("/x", headers={"Host": "anything"}).json() == {"x": 1}
        settings.configure(BOLT_SYNC_POOL_SIZE=5)
        assert framework_config().configured
        assert framework_config().bolt_sync_pool_size == 5
        print("ok")
        """
    )
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    result = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


# --- the older interface --------------------------------------------------------------------------

# django_bolt.conf's names and FRAMEWORK_SETTINGS' entries before FrameworkConfig.
OLD_EXPORTS = (
    "DEFAULT_COMPRESSION",
    "FRAMEWORK_SETTINGS",
    "KIB",
    "MIB",
    "OPTIONS",
    "Option",
    "ServerConfig",
    "ServerConfigError",
    "TrustedProxies",
    "default_workers",
    "framework_setting",
    "load_server_config",
)
OLD_DEFAULTS = {
    "BOLT_API": [],
    "BOLT_ALLOWED_FILE_PATHS": [],
    "BOLT_SYNC_POOL_SIZE": 40,
    "BOLT_EMIT_SIGNALS": False,
    "BOLT_COMPRESSION": conf.DEFAULT_COMPRESSION,
    "BOLT_MEMORY_SPOOL_THRESHOLD": 1024 * 1024,
    "BOLT_AUTHENTICATION_CLASSES": [],
    "BOLT_DEFAULT_PERMISSION_CLASSES": [],
    "BOLT_RATE_LIMIT_BACKEND": None,
    "BOLT_RATE_LIMIT_MAX_KEYS": 100_000,
    "CORS_ALLOWED_ORIGINS": [],
    "CORS_ALLOWED_ORIGIN_REGEXES": [],
    "CORS_ALLOW_ALL_ORIGINS": False,
    "CORS_ALLOW_CREDENTIALS": False,
    "CORS_ALLOW_METHODS": ["DELETE", "GET", "OPTIONS", "PATCH", "POST", "PUT", "QUERY"],
    "CORS_ALLOW_HEADERS": [
        "accept",
        "authorization",
        "content-type",
        "user-agent",
        "x-csrftoken",
        "x-requested-with",
    ],
    "CORS_EXPOSE_HEADERS": [],
    "CORS_PREFLIGHT_MAX_AGE": 86400,
    "CORS_MAX_AGE": None,
}


def test_every_old_name_is_still_exported() -> None:
    for name in OLD_EXPORTS:
        assert name in conf.__all__
        assert hasattr(conf, name)


def test_the_old_table_keeps_its_entries_and_defaults() -> None:
    for name, default in OLD_DEFAULTS.items():
        assert FRAMEWORK_SETTINGS[name][0] == default, name
        assert FRAMEWORK_SETTINGS[name][1]


def test_framework_setting_reads_one_setting_checked(settings: Any) -> None:
    assert framework_setting("BOLT_SYNC_POOL_SIZE") == 40
    assert framework_setting("CORS_ALLOW_METHODS") == DEFAULT_CONFIG.cors_allow_methods
    assert framework_setting("BOLT_SYNC_POOL_SIZE", SimpleNamespace(BOLT_SYNC_POOL_SIZE=7)) == 7
    assert framework_setting("CORS_MAX_AGE") is None
    settings.CORS_MAX_AGE = 5
    assert framework_setting("CORS_MAX_AGE") == 5
    # Only the setting asked for is checked: DEBUG can be read while another one is broken.
    settings.BOLT_SYNC_POOL_SIZE = 0
    assert framework_setting("DEBUG") is False
    with pytest.raises(ImproperlyConfigured, match="BOLT_SYNC_POOL_SIZE = 0"):
        framework_setting("BOLT_SYNC_POOL_SIZE")
    with pytest.raises(KeyError):
        framework_setting("BOLT_NO_SUCH_SETTING")


def test_debug_may_be_a_bool_or_an_int_and_none_is_no_file_path_limit() -> None:
    assert _read(DEBUG=1).debug is True
    assert _read(DEBUG=0).debug is False
    assert _read(DEBUG=True).debug is True
    assert _read(BOLT_ALLOWED_FILE_PATHS=None).bolt_allowed_file_paths == ()


def test_debug_as_a_string_stops_the_test_client_starting(settings: Any) -> None:
    # DEBUG = os.environ["DEBUG"] gives "False", which Django reads as true: tracebacks would be
    # sent to clients. 0.13 stops start-up; so does this framework.
    settings.DEBUG = "False"
    with pytest.raises(ImproperlyConfigured, match="DEBUG = 'False'"), TestClient(_api()):
        pass
