"""Install the system programs the tests and the benchmark need, only where they are missing.

Called by ``dev.py``; runnable on its own:
``python3 scripts/install_deps.py nginx wrk chromium services``.
Debian packages come from apt-get (we run as root on CI and dev machines); Python packages come
from PyPI through the project's ``test`` extra, never from here.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from typing import Final

__all__ = ("ensure_apt", "ensure_chromium", "ensure_nginx", "ensure_services", "ensure_wrk", "main")

# nginx-light is the smallest Debian build with the proxy and upstream modules the tests use.
NGINX_PACKAGES: Final = ("nginx-light", "nginx")
_APT_UPDATED: list[bool] = []


def _log(message: str) -> None:
    print(f"[install] {message}", file=sys.stderr, flush=True)


def _apt_get(*args: str) -> int:
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    command = ["apt-get", "-y", "-q", "-o", "Dpkg::Use-Pty=0", *args]
    if os.geteuid() != 0 and shutil.which("sudo"):
        command = ["sudo", "-E", *command]
    return subprocess.run(command, env=env, stdout=subprocess.DEVNULL, check=False).returncode


def ensure_apt(program: str, packages: tuple[str, ...]) -> str:
    """Return the path of ``program``, installing the first Debian package that provides it."""
    found = shutil.which(program) or _sbin(program)
    if found:
        return found
    if not shutil.which("apt-get"):
        raise SystemExit(f"{program} is missing and apt-get is not available to install it")
    if not _APT_UPDATED:
        _log("apt-get update")
        _apt_get("update")
        _APT_UPDATED.append(True)
    for package in packages:
        _log(f"apt-get install {package}")
        if _apt_get("install", "--no-install-recommends", package) == 0:
            found = shutil.which(program) or _sbin(program)
            if found:
                return found
    raise SystemExit(f"could not install {program} (tried {', '.join(packages)})")


def _sbin(program: str) -> str | None:
    for folder in ("/usr/sbin", "/sbin", "/usr/local/sbin"):
        path = os.path.join(folder, program)
        if os.access(path, os.X_OK):
            return path
    return None


def ensure_nginx() -> str:
    # The tests run their own nginx instances (own prefix and config), never the system one;
    # the TLS test makes its certificate with the openssl command.
    ensure_apt("openssl", ("openssl",))
    return ensure_apt("nginx", NGINX_PACKAGES)


def ensure_wrk() -> str:
    return ensure_apt("wrk", ("wrk",))


def ensure_chromium() -> str:
    """Debian's Chromium for the docs pages' browser test (tests/openapi/test_browser.py),
    driven headless through the DevTools protocol; chromedriver comes along for WebDriver."""
    ensure_apt("chromedriver", ("chromium-driver",))
    return ensure_apt("chromium", ("chromium",))


def _reachable(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1.0):
            return True
    except OSError:
        return False


# How to start each service the machine normally runs before a session, if it has stopped.
_SERVICE_STARTERS: Final[dict[str, tuple[int, str]]] = {
    "postgresql": (
        5432,
        "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql | head -n1) main start",
    ),
    "redis": (
        6379,
        'redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" '
        "--appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log",
    ),
}


def ensure_services() -> None:
    """Start PostgreSQL and Redis when installed but not answering; never install them."""
    for name, (port, command) in _SERVICE_STARTERS.items():
        if _reachable(port):
            continue
        binary = "pg_ctlcluster" if name == "postgresql" else "redis-server"
        if not shutil.which(binary):
            _log(f"{name} is not installed; its tests will skip (or fail under CI)")
            continue
        _log(f"starting {name}")
        subprocess.run(["bash", "-c", command], check=False, stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not _reachable(port):
            time.sleep(0.2)


def main(argv: list[str]) -> int:
    actions = {
        "nginx": ensure_nginx,
        "wrk": ensure_wrk,
        "chromium": ensure_chromium,
        "services": ensure_services,
    }
    for name in argv or ["nginx", "chromium", "services"]:
        if name not in actions:
            print(f"unknown item {name!r}; choose from {', '.join(actions)}", file=sys.stderr)
            return 2
        result = actions[name]()
        if result:
            _log(f"{name}: {result}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
