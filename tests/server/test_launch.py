"""The supervisor interpreter ``runbolt`` execs into imports neither Django nor the framework.

Checked in a real interpreter started as ``runbolt`` starts it (``python -S``, the bootstrap
script's bare package), so an import added anywhere on the supervisor's side that pulls Django,
msgspec, the event loop or the framework in shows up here, not only as a bigger RSS.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib.machinery import EXTENSION_SUFFIXES

from django_bolt.server import launch

# What the supervisor runs: the bootstrap's bare package, then launch (which imports
# supervisor and fresh), as bootstrap.py's main block does, without calling main().
PROBE = """
import json, runpy, sys
runpy.run_path(sys.argv[1], run_name="bootstrap")["register_bare_package"]()
import django_bolt.server.launch
print(json.dumps(sorted(sys.modules)))
"""

HEAVY = ("django", "msgspec", "uvloop", "httptools", "prometheus_client", "watchfiles", "asyncio")


def test_the_supervisor_interpreter_imports_no_framework_and_no_django() -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    out = subprocess.run(
        [sys.executable, "-S", "-c", PROBE, launch.BOOTSTRAP],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=True,
    )
    modules = json.loads(out.stdout)
    ours = [m for m in modules if m.startswith("django_bolt")]
    assert ours, "the probe did not import the server"
    assert all(m == "django_bolt" or m.startswith("django_bolt.server") for m in ours), ours
    assert "dataclasses" not in modules  # a megabyte (with inspect) the parent does not need
    # importlib.abc brings importlib.resources and with it these (3 MiB with the compression
    # modules shutil loads); the bootstrap's finder does without.
    assert not {"importlib.resources", "inspect", "tempfile", "shutil"} & set(modules)
    assert not [m for m in modules if m.split(".")[0] in HEAVY]


def test_the_bare_package_is_the_real_directory() -> None:
    probe = PROBE.replace(
        "print(json.dumps(sorted(sys.modules)))",
        "print(json.dumps(django_bolt.server.launch.__file__))",
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    out = subprocess.run(
        [sys.executable, "-S", "-c", probe, launch.BOOTSTRAP],
        capture_output=True, text=True, env=env, timeout=60, check=True,
    )  # fmt: skip
    assert json.loads(out.stdout) == launch.__file__


def test_compiled_server_modules_load_without_the_package_folder_on_the_path() -> None:
    """An editable install reaches the package through a finder that ``site`` installs, which
    the supervisor runs without: its compiled modules (metrics' recording) still load."""
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(launch.__file__))))
    path = [p for p in sys.path if p and os.path.abspath(p) != root]
    probe = """
import json, runpy, sys
names = runpy.run_path(sys.argv[1], run_name="bootstrap")
names["register_bare_package"]()
names["register_compiled_group"]()
import django_bolt.server.recording as recording
print(json.dumps(recording.__file__))
"""
    out = subprocess.run(
        [sys.executable, "-S", "-c", probe, launch.BOOTSTRAP],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(path)},
        cwd=os.path.dirname(root),
        timeout=60,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    loaded = json.loads(out.stdout)
    assert os.path.dirname(loaded) == os.path.dirname(launch.__file__)
    folder = os.path.dirname(loaded)
    built = [s for s in EXTENSION_SUFFIXES if os.path.exists(os.path.join(folder, "recording" + s))]
    assert loaded.endswith(".py") != bool(built)  # compiled wherever built for this interpreter


# A worker's side, framework and Django included, as a worker imports it before serving.
WORKER_PROBE = """
import json, sys
import django
from django.conf import settings
settings.configure()
django.setup()
import django_bolt, django_bolt.server.handover, django_bolt.server.preload
from django_bolt import BoltAPI
print(json.dumps(sorted(sys.modules)))
"""


def test_a_worker_loads_prometheus_client_and_websockets_only_when_it_needs_them() -> None:
    # Metrics off and no WebSocket handshake yet: 4 and 3.5 MiB a worker would hold for nothing.
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    out = subprocess.run(
        [sys.executable, "-c", WORKER_PROBE],
        capture_output=True, text=True, env=env, timeout=60, check=True,
    )  # fmt: skip
    modules = json.loads(out.stdout)
    assert "django_bolt.server.protocol" in modules
    assert "django_bolt.server.state" in modules
    loaded = {m.split(".")[0] for m in modules} & {"prometheus_client", "websockets"}
    assert not loaded
