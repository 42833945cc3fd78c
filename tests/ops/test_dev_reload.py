"""runbolt --dev: --reload-dir and BOLT_DEV_FORCE_POLLING, with a real watcher and child."""

from __future__ import annotations

import socket
import time
from typing import TYPE_CHECKING

import pytest

from django_bolt.server import reload
from django_bolt.server.config import load_server_config
from tests.integration.projects import Project

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from tests.integration.conftest import BoltProcess

pytestmark = pytest.mark.integration


def test_extra_watch_paths(tmp_path: Path) -> None:
    there = tmp_path / "lib"
    there.mkdir()
    warnings: list[str] = []
    found = reload.extra_watch_paths(f"{there}:{tmp_path / 'missing'}:", warnings.append)
    assert found == [there.resolve()]
    assert len(warnings) == 1
    assert "missing" in warnings[0]


def test_the_options_come_from_the_flag_and_the_setting() -> None:
    class Settings:
        BOLT_DEV_FORCE_POLLING = True

    config = load_server_config({"reload_dirs": "a:b"}, {}, Settings())
    assert config.reload_dirs == "a:b"
    assert config.dev_force_polling is True
    assert load_server_config({}, {}, object()).dev_force_polling is False


@pytest.mark.parametrize("polling", [False, True], ids=["events", "polling"])
def test_a_change_in_a_reload_dir_restarts_the_server(
    run_bolt: Callable[..., BoltProcess], tmp_path: Path, polling: bool
) -> None:
    project = Project(tmp_path / "project")
    if polling:
        project.settings.write_text(
            project.settings.read_text() + "\nBOLT_DEV_FORCE_POLLING = True\n"
        )
    shared = tmp_path / "shared-lib"
    shared.mkdir()
    (shared / "helpers.py").write_text("X = 1\n")
    bolt = run_bolt(
        "--dev", "--reload-dir", str(shared), "--reload-dir", "no-such-dir", cwd=project.root
    )
    assert "no-such-dir: no such file or directory" in bolt.stderr
    first = bolt.get("/pid").json()["pid"]
    time.sleep(0.5)  # the watcher's first scan (polling) sees the file as it is
    (shared / "helpers.py").write_text("X = 2\n")
    bolt.wait_output("helpers.py changed; reloading.", 20)

    def restarted() -> bool:
        try:
            return bolt.get("/pid", timeout=2).json()["pid"] != first
        except (OSError, ValueError):
            return False

    bolt.wait_for(restarted, 20, "the restarted child to answer")


@pytest.mark.parametrize("polling", [False, True])
def test_the_watcher_polls_when_asked(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, polling: bool
) -> None:
    seen: dict[str, object] = {}

    def fake_watch(*paths: str, **options: object) -> list[object]:
        seen.update(options, paths=paths)
        return []

    monkeypatch.setattr(reload.watchfiles, "watch", fake_watch)
    monkeypatch.setattr(reload.Reloader, "start_child", lambda self: None)
    config = load_server_config({"dev_force_polling": polling}, {}, object())
    with socket.socket() as sock:
        reloader = reload.Reloader(["true"], sock.dup(), [tmp_path], config=config, debug=False)
        assert reloader.run() == 0
    assert seen["paths"] == (str(tmp_path),)
    assert seen["force_polling"] is (True if polling else None)
