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
