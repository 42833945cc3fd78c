"""Where a server option comes from: an empty variable and a setting of None count as unset."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from django_bolt.server.config import ServerConfig, load_server_config

DEFAULTS = ServerConfig()


def test_the_shutdown_timeout_variable_sets_the_drain_window() -> None:
    config = load_server_config({}, {"DJANGO_BOLT_SHUTDOWN_TIMEOUT": "2"}, None)
    assert config.workers_kill_timeout_s == 2.0
    # The flag still wins over the variable.
    flagged = load_server_config(
        {"workers_kill_timeout_s": 9}, {"DJANGO_BOLT_SHUTDOWN_TIMEOUT": "2"}, None
    )
    assert flagged.workers_kill_timeout_s == 9.0


def test_an_empty_variable_is_unset() -> None:
    config = load_server_config({}, {"DJANGO_BOLT_SHUTDOWN_TIMEOUT": "", "DJANGO_BOLT_WORKERS": ""})
    assert config.workers_kill_timeout_s == DEFAULTS.workers_kill_timeout_s
    assert config.workers == DEFAULTS.workers


@pytest.mark.parametrize(
    ("setting", "field"),
    [
        ("BOLT_TRUSTED_PROXIES", "forwarded_allow_ips"),
        ("BOLT_WORKERS_KILL_TIMEOUT", "workers_kill_timeout_s"),
    ],
)
def test_a_setting_of_none_is_unset(setting: str, field: str) -> None:
    config = load_server_config({}, {}, SimpleNamespace(**{setting: None}))
    assert getattr(config, field) == getattr(DEFAULTS, field)


def test_a_bad_variable_is_still_refused() -> None:
    with pytest.raises(ValueError, match="DJANGO_BOLT_SHUTDOWN_TIMEOUT"):
        load_server_config({}, {"DJANGO_BOLT_SHUTDOWN_TIMEOUT": "soon"}, None)


@pytest.mark.parametrize(
    ("setting", "value", "expected"),
    [
        ("BOLT_MAX_UPLOAD_SIZE", "10485760", "an int"),
        ("BOLT_MAX_UPLOAD_SIZE", 10.9, "an int"),
        ("BOLT_MAX_UPLOAD_SIZE", True, "an int"),
        ("BOLT_KEEP_ALIVE", "5", "a number"),
        ("BOLT_KEEP_ALIVE", True, "a number"),
    ],
)
def test_a_setting_must_already_have_its_type(setting: str, value: object, expected: str) -> None:
    with pytest.raises(ValueError, match=f"{setting} must be {expected}"):
        load_server_config({}, {}, SimpleNamespace(**{setting: value}))


def test_typed_settings_and_text_from_the_environment_are_read() -> None:
    typed = SimpleNamespace(BOLT_MAX_UPLOAD_SIZE=1024, BOLT_KEEP_ALIVE=2, BOLT_ACCESS_LOG=False)
    config = load_server_config({}, {}, typed)
    assert (config.max_upload_size, config.keep_alive_s, config.access_log) == (1024, 2.0, False)
    from_env = load_server_config({}, {"DJANGO_BOLT_WORKERS": "2"}, None)
    assert from_env.workers == 2
