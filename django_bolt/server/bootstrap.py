"""The main script of the supervisor interpreter that ``runbolt`` execs into (server/launch.py).

Run by path (``python -S .../django_bolt/server/bootstrap.py``), not as ``-m``: importing
``django_bolt.server.launch`` the usual way would first run ``django_bolt/__init__.py``, which
imports the whole framework and so Django, everything the supervisor is there not to hold. So
this script registers ``django_bolt`` as a bare package (its directory, without running its
``__init__``) and only then imports the server's modules, which import nothing of the framework.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import os
import sys
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from collections.abc import Sequence
    from types import ModuleType

__all__ = ("register_bare_package", "register_compiled_group")

# The shared library of the modules mypyc compiled (setup.py), beside the package.
_GROUP: Final = "django_bolt__mypyc"


def register_bare_package() -> None:
    """Make ``django_bolt.server`` importable without running ``django_bolt/__init__.py``."""
    package_dir = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    spec = importlib.util.spec_from_file_location(
        "django_bolt",
        os.path.join(package_dir, "__init__.py"),
        submodule_search_locations=[package_dir],
    )
    if spec is None:  # pragma: no cover - a file path always gives a spec
        raise ImportError(f"django_bolt not found in {package_dir}")
    sys.modules["django_bolt"] = importlib.util.module_from_spec(spec)


class _GroupFinder:
    """Find the compiled modules' shared library in the folder that holds the package.

    A finder on ``sys.meta_path`` needs only ``find_spec``. It does not subclass
    ``importlib.abc.MetaPathFinder``: importing ``importlib.abc`` pulls in
    ``importlib.resources`` and with it ``tempfile``, ``shutil``, ``pathlib``, ``inspect`` and
    the compression modules, about 3 MiB the supervisor has no use for.
    """

    def __init__(self, folder: str) -> None:
        self.folder = folder

    def find_spec(
        self, name: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if name != _GROUP:
            return None
        return importlib.machinery.PathFinder.find_spec(name, [self.folder])


def register_compiled_group() -> None:
    """Let a compiled module of the server (``server/recording.py``, say) load its library.

    An installed package has the library on ``sys.path``, beside ``django_bolt``. An editable
    install reaches both through a finder that ``site`` installs, and this interpreter runs
    without ``site``: the library is then found here, last, in the folder of the package.
    """
    folder = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    sys.meta_path.append(_GroupFinder(folder))


if __name__ == "__main__":  # pragma: no cover - runbolt execs it, observed by the integration tests
    # This directory, sys.path[0] for a script: its modules must not shadow the stdlib's.
    del sys.path[0]
    register_bare_package()
    register_compiled_group()
    from django_bolt.server.launch import main

    raise SystemExit(main())
