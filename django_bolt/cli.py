"""The ``django-bolt`` console script: what is installed, for bug reports and deploy checks.

Serving is ``python manage.py runbolt`` (it needs the project's settings); this command needs
none, so it answers before a project exists and on a host whose settings are broken.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import platform
import sys
from typing import TYPE_CHECKING, Final

from django_bolt import __version__, _compiled
from django_bolt.server.loops import LOOP_NAME

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ("DISTRIBUTION", "main", "versions")

DISTRIBUTION: Final = "django-bolt-py"
# The libraries whose versions decide behaviour on the wire, in the order a report wants them.
_COMPONENTS: Final = ("Django", "msgspec", "httptools", "uvloop", "PyJWT")


def _installed(distribution: str) -> str:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def _request_path() -> str:
    """Say whether the request path runs compiled (mypyc) or from its source, and why."""
    kinds = set(_compiled.status().values())
    if kinds == {True}:
        return "compiled (mypyc)"
    if _compiled.pure_python():
        return f"source ({_compiled.PURE_PYTHON_ENV} is set)"
    return "source" if kinds == {False} else "partly compiled (a stale or partial build)"


def versions() -> dict[str, str]:
    """Return the versions that matter for a report: ours, Python, the event loop, the libraries."""
    found = {
        DISTRIBUTION: __version__,
        "Python": f"{platform.python_version()} ({platform.python_implementation()})",
        "event loop": LOOP_NAME,
        "request path": _request_path(),
    }
    for component in _COMPONENTS:
        found[component] = _installed(component)
    return found


def _print_versions(verbose: bool) -> None:
    if not verbose:
        print(f"{DISTRIBUTION} {__version__}")
        return
    table = versions()
    width = max(len(name) for name in table)
    for name, value in table.items():
        print(f"{name:<{width}}  {value}")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="django-bolt",
        description=(
            "django-bolt (import name django_bolt). Serve a project with "
            "'python manage.py runbolt'; this command reports what is installed."
        ),
    )
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    version = commands.add_parser("version", help="print the version (-v: and its components)")
    version.add_argument(
        "-v", "--verbose", action="store_true", help="also Python, the loop and the libraries"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default: the process's arguments); return the status."""
    parser = _parser()
    args = parser.parse_args(sys.argv[1:] if argv is None else list(argv))
    if args.version:
        _print_versions(verbose=False)
        return 0
    if args.command == "version":
        _print_versions(verbose=args.verbose)
        return 0
    parser.print_help(sys.stderr)
    return 2


if __name__ == "__main__":  # pragma: no cover - python -m django_bolt.cli
    raise SystemExit(main())
