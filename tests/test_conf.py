"""The option table: precedence, coercion, validation, the free-threaded default, its paths."""

from __future__ import annotations

import sys
from types import SimpleNamespace

import pytest

from django_bolt import conf
from django_bolt.conf import ServerConfig, TrustedProxies, load_server_config
from django_bolt.server import config as server_config
from django_bolt.server.config import ServerConfigError


def test_flag_beats_env_beats_setting_beats_default() -> None:
    settings = SimpleNamespace(BOLT_WORKERS=3, BOLT_BACKLOG=512)
    env = {"DJANGO_BOLT_WORKERS": "2"}
    assert load_server_config({}, {}, None).workers == 0
    assert load_server_config({}, {}, settings).workers == 3
    assert load_server_config({}, env, settings).workers == 2
    assert load_server_config({"workers": 4}, env, settings).workers == 4
    assert load_server_config({"workers": None}, env, settings).workers == 2
    assert load_server_config({}, env, settings).backlog == 512


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param("true", True, id="true"),
        pytest.param("0", False, id="zero"),
        pytest.param("On", True, id="on"),
        pytest.param(False, False, id="bool"),
    ],
)
def test_booleans_from_settings(raw: object, expected: bool) -> None:
    settings = SimpleNamespace(BOLT_ACCESS_LOG=raw)
    assert load_server_config({}, {}, settings).access_log is expected


@pytest.mark.parametrize(
    ("cli", "env", "message"),
    [
        pytest.param({"processes": 0}, {}, "processes", id="no-processes"),
        pytest.param({"port": 70000}, {}, "port", id="port-range"),
        pytest.param({"keep_alive_s": -1}, {}, "keep_alive_s", id="negative"),
        pytest.param({"log_level": "loud"}, {}, "log level", id="log-level"),
        pytest.param({}, {"DJANGO_BOLT_WORKERS": "two"}, "DJANGO_BOLT_WORKERS", id="env-type"),
        pytest.param({"forwarded_allow_ips": "10.0.0.0/33"}, {}, "10.0.0.0/33", id="bad-cidr"),
        pytest.param({"body_spool_threshold": -1}, {}, "body_spool_threshold", id="negative-spool"),
        pytest.param(
            {"body_spool_dir": "/nonexistent/bolt-spool"}, {}, "body_spool_dir", id="spool-dir"
        ),
    ],
)
def test_bad_values_fail_at_start_up(
    cli: dict[str, object], env: dict[str, str], message: str
) -> None:
    with pytest.raises(ServerConfigError, match=message):
        load_server_config(cli, env, None)


def test_workers_default_to_cpu_count_without_a_gil(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "_is_gil_enabled", lambda: False, raising=False)
    monkeypatch.setattr(server_config.os, "cpu_count", lambda: 7)
    assert ServerConfig().effective_workers() == 7
    monkeypatch.setattr(sys, "_is_gil_enabled", lambda: True, raising=False)
    assert ServerConfig().effective_workers() == 1
    assert ServerConfig(workers=3).effective_workers() == 3


def test_trusted_proxies() -> None:
    trusted = TrustedProxies.parse("127.0.0.1, 10.0.0.0/8 ,::1")
    assert "127.0.0.1" in trusted
    assert "10.20.30.40" in trusted
    assert "::1" in trusted
    assert "11.0.0.1" not in trusted
    assert "not-an-ip" not in trusted
    assert "203.0.113.9" in TrustedProxies.parse("*")


def test_the_server_table_keeps_its_public_path() -> None:
    # The table lives in the server (which imports nothing of the framework); users, the docs
    # and Django-Bolt's layout import it from django_bolt.conf.
    for name in ("OPTIONS", "Option", "ServerConfig", "TrustedProxies", "load_server_config"):
        assert getattr(conf, name) is getattr(server_config, name)
    assert issubclass(ServerConfigError, ValueError)
