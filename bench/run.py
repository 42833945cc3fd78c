#!/usr/bin/env python3
"""Benchmark our runbolt against Django-Bolt 0.13.0 (PyPI) and FastAPI+uvicorn, in one run.

    python3 bench/run.py                      # 3 runs x 5 s per endpoint and server
    python3 bench/run.py --runs 5 --duration 10 --servers ours,theirs --endpoints json-async
    python3 bench/run.py --servers ours,theirs --endpoints orm-async,orm-sync

Each server runs the same app (bench/app; FastAPI gets bench/fastapi_app.py with the same routes,
gunicorn serves the app's plain Django view through benchproject.wsgi) pinned to core 0 with one
process and no access log; wrk runs pinned to core 1 (``wrk -t1 -c64``). Servers are interleaved
inside each round so slow drift of the machine hits all of them alike, and the order turns from
round to round so no server always goes first. Every endpoint's status
and body are checked on every server that has the route before it is loaded; on a server without
it the endpoint is n/a. The ORM endpoints read a SQLite file the harness creates and fills before
the servers start. Results: a table on stdout, bench/results/<stamp>.json and .md, and latest.md.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import datetime as dt
import glob
import gzip
import hashlib
import http.client
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

BENCH: Final = Path(__file__).resolve().parent
ROOT: Final = BENCH.parent
APP: Final = BENCH / "app"
WORK: Final = BENCH / ".work"
RESULTS: Final = BENCH / "results"
sys.path.insert(0, str(APP))
sys.path.insert(0, str(ROOT / "scripts"))

from benchproject.catalog.rows import (  # noqa: E402
    QUERYSET_ROWS,
    expected_articles_page,
    expected_page,
    expected_product,
    expected_rows,
)
from benchproject.payloads import DOCUMENT  # noqa: E402

THEIRS_VERSION: Final = "0.13.0"
SERVER_CORE: Final = "0"
LOAD_CORE: Final = "1"
START_TIMEOUT_S: Final = 60.0
DB_PATH: Final = WORK / "bench.sqlite3"
# The PostgreSQL database of the "-pg" endpoints (dropped and made anew by each run using them).
PG_DATABASE: Final = "bolt_bench"
PG_ADMIN: Final = ("psql", "-h", "127.0.0.1", "-U", "postgres", "-v", "ON_ERROR_STOP=1", "-q")
# The origin the "-policies" servers allow (CORS_ALLOWED_ORIGINS in bench/app's settings).
POLICY_ORIGIN: Final = "https://app.example.com"


# --------------------------------------------------------------------------------------------
# Endpoints

# Our server in each of its bench configurations.
OURS_SERVERS: Final = (
    "ours",
    "ours-base",
    "ours-pure",
    "ours-log",
    "ours-log-json",
    "ours-metrics",
    "ours-policies",
)
# Servers running bench/app's api.py through a django_bolt (ours or Django-Bolt 0.13).
BOLT_SERVERS: Final = (*OURS_SERVERS, "theirs", "theirs-policies")
API_SERVERS: Final = (*BOLT_SERVERS, "fastapi")
# The bare uvloop + httptools + msgspec server of bench/ceiling_server.py: what is possible at all.
CEILING_ENDPOINTS: Final = frozenset(
    {"json-async", "json-async-plain", "json-sync-plain", "post-10kb", "get-10kb", "not-found"}
)
CEILINGS: Final = ("ceiling", "ceiling-held")


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One measured request; ``servers`` have the route (elsewhere the endpoint is n/a)."""

    name: str
    method: str
    path: str
    expected: Any
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None
    servers: tuple[str, ...] = API_SERVERS
    # The status every answer must have; a body of None is not compared (a 404 page differs
    # from server to server).
    status: int = 200
    # Measured when --endpoints is not given; the newer, narrower endpoints are asked for by name.
    default: bool = True
    # Reads the PostgreSQL catalogue (the run makes it first).
    postgres: bool = False


def serves(server: str, endpoint: Endpoint) -> bool:
    """Whether ``server`` has ``endpoint``'s route."""
    if server in CEILINGS:
        return endpoint.name in CEILING_ENDPOINTS
    return server in endpoint.servers


DOCUMENT_BYTES: Final = json.dumps(DOCUMENT).encode()
BENCH_JWT: Final = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
    "eyJzdWIiOiI0MiIsImV4cCI6NDEwMjQ0NDgwMCwibmFtZSI6ImJlbmNoIn0."
    "X0ce-28-V_llKJD-nbVZgWLpwqDlDgGWGuzAa6UOmpM"
)
ENDPOINTS: Final = (
    Endpoint("json-async", "GET", "/json-async", {"message": "Hello, World!"}),
    Endpoint("json-sync", "GET", "/json-sync", {"message": "Hello, World!"}),
    Endpoint("path-query", "GET", "/items/42?q=bolt", {"item_id": 42, "q": "bolt"}),
    Endpoint(
        "header-cookie",
        "GET",
        "/headers",
        {"token": "abc123", "session": "s3ss10n"},
        headers={"x-token": "abc123", "Cookie": "session=s3ss10n"},
    ),
    Endpoint(
        "post-10kb",
        "POST",
        "/echo",
        DOCUMENT,
        headers={"Content-Type": "application/json"},
        body=DOCUMENT_BYTES,
    ),
    Endpoint("get-10kb", "GET", "/document", DOCUMENT),
    # A JWT-protected route answering with the verified claims (bench/app's JWT_SECRET signed
    # this token; it expires in 2100).
    Endpoint(
        "jwt-claims",
        "GET",
        "/me",
        {"user_id": "42", "claims": {"sub": "42", "exp": 4102444800, "name": "bench"}},
        headers={"Authorization": f"Bearer {BENCH_JWT}"},
    ),
    # 10 rows of the SQLite catalogue: async ORM in an async handler, sync ORM in a def handler.
    # FastAPI has no Django ORM in the bench, hence n/a there.
    Endpoint(
        "orm-async",
        "GET",
        "/orm/async",
        expected_page(),
        servers=BOLT_SERVERS,
        default=False,
    ),
    Endpoint(
        "orm-sync",
        "GET",
        "/orm/sync",
        expected_page(),
        servers=BOLT_SERVERS,
        default=False,
    ),
    # Issue 16: a ModelViewSet with PageNumberPagination (page 2: 20 of the 100 rows, one COUNT
    # and one page query) and its retrieve by primary key, the same class on both sides.
    Endpoint(
        "viewset-page",
        "GET",
        "/articles?page=2",
        expected_articles_page(2),
        servers=BOLT_SERVERS,
        default=False,
    ),
    Endpoint(
        "viewset-retrieve",
        "GET",
        "/articles/42",
        expected_product(42),
        servers=BOLT_SERVERS,
        default=False,
    ),
    # The same two on a ViewSet whose list and retrieve are def methods (bench/app's
    # /sync-articles). Ours only: Django-Bolt 0.13 leaves def CRUD methods of a viewset out, so
    # no identical sync code runs there (BENCHMARKS.md compares these with its async ones).
    Endpoint(
        "viewset-page-sync",
        "GET",
        "/sync-articles?page=2",
        expected_articles_page(2),
        servers=("ours", "ours-base"),
        default=False,
    ),
    Endpoint(
        "viewset-retrieve-sync",
        "GET",
        "/sync-articles/42",
        expected_product(42),
        servers=("ours", "ours-base"),
        default=False,
    ),
    # A plain Django view (bench/app's urls.py): through our runbolt's fall-through to Django,
    # and through gunicorn's sync worker. Django-Bolt 0.13 answers its JSON 404 for paths no
    # API route has (it reaches Django only through an explicit api.mount_django(), which the
    # shared app code does not call), hence n/a there.
    Endpoint(
        "django-view",
        "GET",
        "/django/hello",
        {"message": "Hello, World!"},
        servers=(*OURS_SERVERS, "gunicorn"),
        default=False,
    ),
    # The handlers as users write them, without return annotations (bench/app's /plain/*).
    Endpoint(
        "json-async-plain",
        "GET",
        "/plain/json-async",
        {"message": "Hello, World!"},
        servers=BOLT_SERVERS,
    ),
    Endpoint(
        "json-sync-plain",
        "GET",
        "/plain/json-sync",
        {"message": "Hello, World!"},
        servers=BOLT_SERVERS,
    ),
    Endpoint(
        "json-sync-constant",
        "GET",
        "/plain/json-sync-constant",
        {"message": "Hello, World!"},
        servers=BOLT_SERVERS,
        default=False,
    ),
    # A def handler reading an Enum member and time.time() (its body changes every second).
    Endpoint(
        "status-sync-plain", "GET", "/plain/status", None, servers=BOLT_SERVERS, default=False
    ),
    # A handler made by a factory (bench/app's _versioned_hello), closing over its version.
    Endpoint(
        "factory-sync-plain",
        "GET",
        "/plain/v2/hello-sync",
        {"message": "Hello, World!", "version": "v2"},
        servers=BOLT_SERVERS,
        default=False,
    ),
    Endpoint(
        "factory-async-plain",
        "GET",
        "/plain/v2/hello-async",
        {"message": "Hello, World!", "version": "v2"},
        servers=BOLT_SERVERS,
        default=False,
    ),
    Endpoint(
        "path-query-plain",
        "GET",
        "/plain/items/42?q=bolt",
        {"item_id": 42, "q": "bolt"},
        servers=BOLT_SERVERS,
    ),
    Endpoint(
        "header-cookie-plain",
        "GET",
        "/plain/headers",
        {"token": "abc123", "session": "s3ss10n"},
        headers={"x-token": "abc123", "Cookie": "session=s3ss10n"},
        servers=BOLT_SERVERS,
    ),
    Endpoint(
        "orm-async-plain",
        "GET",
        "/plain/orm/async",
        expected_page(),
        servers=BOLT_SERVERS,
        default=False,
    ),
    Endpoint(
        "orm-sync-plain",
        "GET",
        "/plain/orm/sync",
        expected_page(),
        servers=BOLT_SERVERS,
        default=False,
    ),
    # A QuerySet returned as it is through a Struct response model, 50 rows (issue 15).
    Endpoint(
        "orm-queryset-struct",
        "GET",
        "/orm/queryset-struct",
        expected_rows(QUERYSET_ROWS),
        servers=BOLT_SERVERS,
        default=False,
    ),
    Endpoint(
        "orm-queryset-struct-sync",
        "GET",
        "/orm/queryset-struct-sync",
        expected_rows(QUERYSET_ROWS),
        servers=BOLT_SERVERS,
        default=False,
    ),
    # The ORM pair on PostgreSQL (127.0.0.1:5432, database PG_DATABASE, made by the harness).
    Endpoint(
        "orm-pg-async-plain",
        "GET",
        "/plain/orm-pg/async",
        expected_page(),
        servers=BOLT_SERVERS,
        default=False,
        postgres=True,
    ),
    Endpoint(
        "orm-pg-sync-plain",
        "GET",
        "/plain/orm-pg/sync",
        expected_page(),
        servers=BOLT_SERVERS,
        default=False,
        postgres=True,
    ),
    # A path no route has: ours falls through to Django's URLconf (on by default), which has
    # none either; Django-Bolt 0.13 answers its own JSON 404. Only the status is compared.
    Endpoint("not-found", "GET", "/no/such/path", None, status=404, default=False),
    # The last of 200 routes under one prefix (bench/app's "larger API"), as users write them.
    Endpoint(
        "route-200",
        "GET",
        "/big/v1/r199/7",
        {"route": 199, "item": 7},
        servers=BOLT_SERVERS,
        default=False,
    ),
    # get-10kb asked for gzip: compressed on the "-policies" servers (check() insists on it),
    # sent as is on the others (no compression configured there).
    Endpoint(
        "get-10kb-gzip",
        "GET",
        "/document",
        DOCUMENT,
        headers={"Accept-Encoding": "gzip"},
        servers=BOLT_SERVERS,
        default=False,
    ),
)


# --------------------------------------------------------------------------------------------
# Servers and their virtual environments


@dataclass(frozen=True, slots=True)
class Server:
    name: str
    label: str
    venv: Path
    requirements: tuple[str, ...]
    port: int
    # A checkout of another commit of ours, put first on sys.path ("ours-base" only).
    tree: str = ""
    # More runbolt flags (ours only), e.g. ("--metrics-path", "/metrics") to price a feature.
    extra_args: tuple[str, ...] = ()

    @property
    def python(self) -> Path:
        return self.venv / "bin" / "python"

    @property
    def policies(self) -> bool:
        """Compression and CORS configured globally (``BENCH_POLICIES=1`` in the settings)."""
        return self.name.endswith("-policies")

    def env(self) -> dict[str, str]:
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "BENCH_DB": str(DB_PATH)}
        env["BENCH_PG_DB"] = PG_DATABASE
        # One hash seed for every server process: with random seeds, two processes of the same
        # server measured side by side differed by 3 % (dict layouts); with one seed, by 0.5 %.
        env["PYTHONHASHSEED"] = "0"
        env["BENCH_DB_READONLY"] = "1"  # the servers only read the catalogue
        env.pop("DJANGO_SETTINGS_MODULE", None)
        env.pop("BENCH_POLICIES", None)
        env.pop("PYTHONPATH", None)
        if self.tree:
            env["PYTHONPATH"] = self.tree
        elif self.name.startswith("ours"):
            # The checkout this script is in (a worktree, say), not wherever the venv's
            # editable install points.
            env["PYTHONPATH"] = str(ROOT)
        if self.policies:
            env["BENCH_POLICIES"] = "1"
        env.pop("DJANGO_BOLT_PURE_PYTHON", None)
        if self.name == "ours-pure":
            env["DJANGO_BOLT_PURE_PYTHON"] = "1"
        return env

    def command(self) -> tuple[list[str], Path]:
        python = str(self.python)
        port = str(self.port)
        if self.name == "fastapi":
            argv = [python, "-m", "uvicorn", "fastapi_app:app", "--host", "127.0.0.1"]
            argv += ["--port", port, "--loop", "uvloop", "--http", "httptools"]
            return [*argv, "--no-access-log", "--log-level", "warning"], BENCH
        if self.name in CEILINGS:
            argv = [python, str(BENCH / "ceiling_server.py"), "--port", port]
            return [*argv, "--hold"] if self.name == "ceiling-held" else argv, BENCH
        if self.name == "gunicorn":
            # gunicorn writes no access log unless --access-logfile is given.
            argv = [python, "-m", "gunicorn", "benchproject.wsgi:application"]
            argv += ["--bind", f"127.0.0.1:{port}", "--workers", "1", "--worker-class", "sync"]
            return [*argv, "--log-level", "warning"], APP
        argv = [python, "manage.py", "runbolt", "--host", "127.0.0.1", "--port", port]
        argv += ["--processes", "1"]
        if self.name in ("ours", "ours-base", "ours-pure", "ours-policies"):
            argv.append("--no-access-log")  # Django-Bolt 0.13 logs no requests by default.
        elif self.name == "ours-log":
            argv.append("--access-log")  # the app's settings turn it off (BOLT_ACCESS_LOG)
        elif self.name == "ours-log-json":
            argv += ["--access-log", "--access-log-format", "json"]
        elif self.name == "ours-metrics":
            argv += ["--no-access-log", "--metrics-path", "/metrics"]
        return [*argv, *self.extra_args], APP


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def make_servers(names: list[str], base_tree: str = "") -> list[Server]:
    # psycopg for the "-pg" ORM endpoints, in both venvs alike.
    ours = (f"-e {ROOT}", "psycopg[binary]>=3.1")
    theirs = (f"django-bolt=={THEIRS_VERSION}", "psycopg[binary]>=3.1")
    known = {
        "ours": ("ours (django_bolt, pure Python)", ours),
        # Ours at another commit (--base-tree: a checkout of it), for before/after in one run.
        "ours-base": (f"ours at {_describe_tree(base_tree)}", ours),
        # The same server on the source of its compiled modules (DJANGO_BOLT_PURE_PYTHON=1).
        "ours-pure": ("ours, the request path's source instead of its compiled form", ours),
        # The same server with its access log on (to the log file), to price the log.
        "ours-log": ("ours with the access log on", ours),
        "ours-log-json": ("ours with the access log on, JSON lines", ours),
        # The same server with Prometheus metrics on (--metrics-path /metrics), to price them.
        "ours-metrics": ("ours with metrics on", ours),
        # The same servers with gzip compression and CORS configured globally in the settings.
        "ours-policies": ("ours, BOLT_COMPRESSION (gzip) and CORS_ALLOWED_ORIGINS set", ours),
        "theirs": (f"Django-Bolt {THEIRS_VERSION} (Rust)", theirs),
        "theirs-policies": (
            f"Django-Bolt {THEIRS_VERSION}, BOLT_COMPRESSION (gzip) and CORS_ALLOWED_ORIGINS set",
            theirs,
        ),
        "fastapi": ("FastAPI + uvicorn", ("fastapi", "uvicorn[standard]")),
        "gunicorn": ("gunicorn, 1 sync worker, plain Django", ("django", "gunicorn")),
        # No framework: the transport and msgspec work alone (bench/ceiling_server.py).
        "ceiling": ("bare uvloop + httptools + msgspec, no framework", ours),
        # The same, each loop turn's answers written together (as server/outbox.py does).
        "ceiling-held": ("the bare server, answers held to the end of the loop's turn", ours),
    }
    if names == ["all"]:
        names = [name for name in known if name != "ours-base" or base_tree]
    servers = []
    for name in names:
        if name not in known:
            raise SystemExit(f"unknown server {name!r}; choose from {', '.join(known)} or all")
        label, requirements = known[name]
        venv_name = name.removesuffix("-json").removesuffix("-log").removesuffix("-metrics")
        venv_name = venv_name.removesuffix("-policies").removesuffix("-base")
        venv_name = venv_name.removesuffix("-pure")
        if name == "ours-base" and not base_tree:
            raise SystemExit("ours-base needs --base-tree DIR (e.g. a `git worktree add` of it)")
        if name in CEILINGS:
            venv_name = "ours"  # it needs only uvloop, httptools and msgspec
        tree = str(Path(base_tree).resolve()) if name == "ours-base" else ""
        servers.append(
            Server(name, label, BENCH / f".venv-{venv_name}", requirements, _free_port(), tree)
        )
    return servers


def _describe_tree(tree: str) -> str:
    """The commit a checkout is at, for the server's label."""
    if not tree:
        return "another commit"
    result = subprocess.run(
        ["git", "-C", tree, "log", "-1", "--format=%h %s"],
        capture_output=True,
        text=True,
        check=False,
    )
    return result.stdout.strip()[:60] or tree


def find_python312() -> str:
    """A CPython >= 3.12 (Django-Bolt 0.13 needs it; ours runs on it too, for a fair match)."""
    # 3.12 first: the oldest Python Django-Bolt 0.13 supports, and the one results are quoted on.
    candidates = []
    for minor in (12, 13, 14):
        pattern = os.path.expanduser(f"~/.pyenv/versions/3.{minor}.*/bin/python3.{minor}")
        candidates += sorted(glob.glob(pattern), reverse=True)
        candidates += [p for p in (shutil.which(f"python3.{minor}"),) if p]
    for candidate in candidates:
        if "t" in Path(candidate).name.removeprefix("python"):
            continue  # a free-threaded build would not compare like with like
        return candidate
    raise SystemExit("no Python >= 3.12 found (looked under ~/.pyenv/versions and on PATH)")


def _compiled_sources() -> list[Path]:
    """Return setup.py and the modules it compiles (django_bolt/compiled_modules.txt)."""
    listing = (ROOT / "django_bolt" / "compiled_modules.txt").read_text(encoding="utf-8")
    names = [line for line in listing.split("\n") if line and not line.startswith("#")]
    return [ROOT / "setup.py", *(ROOT / (name.replace(".", "/") + ".py") for name in names)]


def ensure_venv(server: Server, python: str) -> None:
    parts = [python, *server.requirements, (ROOT / "pyproject.toml").read_text()]
    if any(requirement.startswith("-e ") for requirement in server.requirements):
        # The editable install keeps the compiled request path beside its source: an edit of
        # one of those modules must rebuild it (as dev.py does for .venv).
        parts += [path.read_text() for path in _compiled_sources()]
    stamp_value = hashlib.sha256("\n".join(parts).encode()).hexdigest()
    stamp = server.venv / ".bench-stamp"
    if server.python.exists() and stamp.exists() and stamp.read_text() == stamp_value:
        return
    print(f"[bench] setting up {server.venv.relative_to(ROOT)} with {python}", file=sys.stderr)
    subprocess.run([python, "-m", "venv", "--clear", str(server.venv)], check=True)
    pip = [str(server.python), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    args: list[str] = []
    for requirement in server.requirements:
        args += requirement.split(" ", 1)
    result = subprocess.run([*pip, *args], check=False)
    if result.returncode != 0:
        raise SystemExit(f"pip install {' '.join(args)} failed for {server.name}")
    stamp.write_text(stamp_value)


def package_version(server: Server) -> str:
    """Installed version and Python, read from the venv's metadata (not from an importable dir)."""
    dist = "django-bolt" if server.name in BOLT_SERVERS else server.name
    django = "" if server.name == "fastapi" else "'(Django', m.version('django') + ')', "
    code = (
        "import importlib.metadata as m, sys; "
        f"print(m.version({dist!r}), {django}sys.version.split()[0])"
    )
    # Run from bench/app: the repository root holds a django_bolt/ directory of its own.
    out = subprocess.run(
        [str(server.python), "-c", code], capture_output=True, text=True, check=False, cwd=APP
    )
    return out.stdout.strip() or "?"


def prepare_postgres(servers: list[Server]) -> None:
    """A fresh PostgreSQL catalogue, database PG_DATABASE: made, migrated and filled."""
    maker = next((s for s in servers if s.name != "fastapi"), None)
    if maker is None:
        return
    for sql in (f"DROP DATABASE IF EXISTS {PG_DATABASE}", f"CREATE DATABASE {PG_DATABASE}"):
        out = subprocess.run([*PG_ADMIN, "-c", sql], capture_output=True, text=True, check=False)
        if out.returncode != 0:
            raise SystemExit(f"PostgreSQL on 127.0.0.1:5432 refused {sql!r}:\n{out.stderr}")
    _manage(
        maker,
        ["migrate", "--noinput", "-v0", "--database", "pg"],
        ["fill_catalog", "--database", "pg"],
    )


def prepare_database(servers: list[Server]) -> None:
    """A fresh SQLite catalogue at DB_PATH: migrated and filled, before any server opens it.

    Made once per run with one server's Python (every venv but FastAPI's has Django and the
    app); the servers only read it.
    """
    maker = next((s for s in servers if s.name != "fastapi"), None)
    if maker is None:
        return
    for suffix in ("", "-journal", "-wal", "-shm"):
        Path(f"{DB_PATH}{suffix}").unlink(missing_ok=True)
    _manage(maker, ["migrate", "--noinput", "-v0"], ["fill_catalog"])


def _manage(maker: Server, *commands: list[str]) -> None:
    """Run each ``manage.py`` command in bench/app with ``maker``'s Python, writable database."""
    env = {**maker.env(), "BENCH_POLICIES": "", "BENCH_DB_READONLY": ""}
    for command in commands:
        out = subprocess.run(
            [str(maker.python), "manage.py", *command],
            cwd=APP,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if out.returncode != 0:
            raise SystemExit(f"manage.py {' '.join(command)} failed:\n{out.stdout}{out.stderr}")


@contextlib.contextmanager
def running(
    server: Server,
    wrapper: tuple[str, ...] = ("taskset", "-c", SERVER_CORE),
    start_timeout: float = START_TIMEOUT_S,
    log_name: str = "",
) -> Any:
    """``server`` started (under ``wrapper``) and answering; stopped on exit."""
    argv, cwd = server.command()
    log_path = WORK / (log_name or f"{server.name}.log")
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [*wrapper, *argv],
            cwd=cwd,
            env=server.env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            _wait_ready(server, proc, log_path, start_timeout)
            yield proc
        finally:
            _stop(proc)


def _wait_ready(
    server: Server, proc: subprocess.Popen[bytes], log_path: Path, timeout: float
) -> None:
    probe = next(e for e in ENDPOINTS if serves(server.name, e))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{server.name} exited early:\n{log_path.read_text()[-3000:]}")
        with contextlib.suppress(OSError):
            status, _, _ = request(server.port, probe)
            if status == 200:
                return
        time.sleep(0.2)
    raise SystemExit(f"{server.name} did not answer in {timeout:.0f} s")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(5)


# --------------------------------------------------------------------------------------------
# Checking and loading


def request(
    port: int, endpoint: Endpoint, extra_headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    """Status, headers (names in lower case) and the body as sent (not decompressed)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        headers = {**endpoint.headers, **(extra_headers or {})}
        conn.request(endpoint.method, endpoint.path, body=endpoint.body, headers=headers)
        response = conn.getresponse()
        fields = {name.lower(): value for name, value in response.getheaders()}
        return response.status, fields, response.read()
    finally:
        conn.close()


def check(server: Server, endpoint: Endpoint) -> str | None:
    """None when the endpoint answers 200 with the expected JSON, else what went wrong.

    A gzip-encoded body is decoded first; a server with policies must gzip what was asked
    for with ``Accept-Encoding: gzip`` (the document is far above the 500-byte minimum).
    """
    try:
        status, headers, body = request(server.port, endpoint)
    except OSError as exc:
        return f"{type(exc).__name__}: {exc}"
    if status != endpoint.status:
        return f"status {status}: {body[:200]!r}"
    if endpoint.expected is None:
        return None
    encoding = headers.get("content-encoding", "identity")
    wants_gzip = "gzip" in endpoint.headers.get("Accept-Encoding", "")
    if server.policies and wants_gzip and encoding != "gzip":
        return f"asked for gzip, got Content-Encoding {encoding!r}"
    if encoding == "gzip":
        try:
            body = gzip.decompress(body)
        except (OSError, EOFError) as exc:
            return f"Content-Encoding gzip but the body does not decode: {exc}"
    elif encoding != "identity":
        return f"unexpected Content-Encoding {encoding!r}"
    try:
        data = json.loads(body)
    except ValueError:
        return f"not JSON: {body[:200]!r}"
    if data != endpoint.expected:
        return f"unexpected body: {body[:200]!r}"
    return None


def check_cors(server: Server) -> str | None:
    """On a "-policies" server, a cross-origin request from the allowed origin gets CORS headers.

    Proves the global CORS configuration is in force (the measured requests carry no Origin,
    like a same-origin client's, so the policy is configured but has nothing to add to them).
    """
    probe = next(e for e in ENDPOINTS if e.name == "json-async")
    try:
        status, headers, _ = request(server.port, probe, {"Origin": POLICY_ORIGIN})
    except OSError as exc:
        return f"{type(exc).__name__}: {exc}"
    allowed = headers.get("access-control-allow-origin")
    if status != 200 or allowed != POLICY_ORIGIN:
        return f"status {status}, Access-Control-Allow-Origin {allowed!r}"
    return None


def wrk_script(endpoint: Endpoint) -> Path | None:
    if endpoint.body is None:
        return None
    path = WORK / f"{endpoint.name}.lua"
    lines = [f'wrk.method = "{endpoint.method}"', f"wrk.body = {_lua_string(endpoint.body)}"]
    # Written aside and renamed into place: with --together another wrk may be reading the
    # script this very moment, and a truncated one makes it send GETs (a round of 405s).
    partial = path.with_name(f"{path.name}.{threading.get_ident()}.tmp")
    partial.write_text("\n".join(lines) + "\n")
    os.replace(partial, path)
    return path


def _lua_string(data: bytes) -> str:
    # A long bracket string needs no escaping as long as its closing bracket does not occur.
    level = 0
    while b"]" + b"=" * level + b"]" in data:
        level += 1
    eq = "=" * level
    return f"[{eq}[{data.decode()}]{eq}]"


_UNITS: Final = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _to_ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s)", text)
    if match is None:
        raise ValueError(f"cannot read latency {text!r}")
    return float(match.group(1)) * _UNITS[match.group(2)]


@dataclass(slots=True)
class Sample:
    rps: float
    p99_ms: float
    errors: int


def run_wrk(server: Server, endpoint: Endpoint, seconds: int, connections: int) -> Sample:
    """One wrk run; answers other than 2xx/3xx count as errors unless the endpoint expects them."""
    argv = ["taskset", "-c", LOAD_CORE, "wrk", "-t1", f"-c{connections}", f"-d{max(1, seconds)}s"]
    argv += ["--latency", "--timeout", "5s"]
    for name, value in endpoint.headers.items():
        argv += ["-H", f"{name}: {value}"]
    script = wrk_script(endpoint)
    if script is not None:
        argv += ["-s", str(script)]
    argv.append(f"http://127.0.0.1:{server.port}{endpoint.path}")
    out = subprocess.run(argv, capture_output=True, text=True, check=True, timeout=seconds + 60)
    text = out.stdout
    rps = re.search(r"Requests/sec:\s+([\d.]+)", text)
    p99 = re.search(r"^\s+99%\s+(\S+)", text, re.MULTILINE)
    if rps is None or p99 is None:
        raise SystemExit(f"cannot read wrk output:\n{text}\n{out.stderr}")
    errors = 0
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
    if non2xx and endpoint.status < 400:
        errors += int(non2xx.group(1))
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    if sock:
        errors += sum(int(x) for x in sock.groups())
    return Sample(float(rps.group(1)), _to_ms(p99.group(1)), errors)


def run_together(
    servers: list[Server], endpoint: Endpoint, seconds: int, connections: int
) -> list[Sample]:
    """One wrk per server, all at once (``--together``): the servers share core 0.

    Each server is always runnable, so the scheduler gives each an equal share of the core, and
    a server's req/s is that share over its CPU time per request: their ratio is the inverse
    ratio of their costs, measured in the same seconds.
    """
    with concurrent.futures.ThreadPoolExecutor(len(servers)) as pool:
        futures = [
            pool.submit(run_wrk, server, endpoint, seconds, connections) for server in servers
        ]
        return [future.result() for future in futures]


# --------------------------------------------------------------------------------------------
# Reporting


def machine_info() -> dict[str, Any]:
    cpu = "?"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "kernel": platform.release(),
        "wrk": subprocess.run(
            ["wrk", "-v"], capture_output=True, text=True, check=False
        ).stdout.splitlines()[0:1],
    }


def summarize(results: dict[str, dict[str, list[Sample]]]) -> dict[str, dict[str, Any]]:
    summary: dict[str, dict[str, Any]] = {}
    for endpoint, per_server in results.items():
        row: dict[str, Any] = {}
        for server, samples in per_server.items():
            row[server] = {
                "median_rps": statistics.median(s.rps for s in samples),
                "median_p99_ms": statistics.median(s.p99_ms for s in samples),
                "errors": sum(s.errors for s in samples),
                "runs_rps": [s.rps for s in samples],
            }
        if "ours" in row and "theirs" in row:
            row["ratio_ours_theirs"] = row["ours"]["median_rps"] / row["theirs"]["median_rps"]
        for key, (top, bottom) in PAIRED_RATIOS.items():
            if top in row and bottom in row:
                # Same-round pairs ran seconds apart, so their ratio shrugs off slow drift of a
                # shared machine better than the ratio of the two medians does.
                pairs = zip(per_server[top], per_server[bottom], strict=True)
                row[key] = statistics.median(a.rps / b.rps for a, b in pairs)
        if "ours" in row and "fastapi" in row:
            row["ratio_ours_fastapi"] = row["ours"]["median_rps"] / row["fastapi"]["median_rps"]
        summary[endpoint] = row
    return summary


# Per-round ratios: key -> (numerator server, denominator server), both measured in each round.
PAIRED_RATIOS: Final = {
    "paired_ratio_ours_theirs": ("ours", "theirs"),
    "paired_ratio_log_cost": ("ours-log", "ours"),
    "paired_ratio_log_json_cost": ("ours-log-json", "ours"),
    "paired_ratio_metrics_cost": ("ours-metrics", "ours"),
    "paired_ratio_ours_gunicorn": ("ours", "gunicorn"),
    "paired_ratio_policies_ours_theirs": ("ours-policies", "theirs-policies"),
    "paired_ratio_policies_cost": ("ours-policies", "ours"),
    "paired_ratio_theirs_ceiling": ("theirs", "ceiling"),
    "paired_ratio_ours_ceiling": ("ours", "ceiling"),
    "paired_ratio_ours_ceiling_held": ("ours", "ceiling-held"),
    "paired_ratio_ours_base": ("ours", "ours-base"),
    "paired_ratio_compiled": ("ours", "ours-pure"),
}


def markdown_table(summary: dict[str, dict[str, Any]], servers: list[Server]) -> str:
    names = [s.name for s in servers]
    header = ["endpoint"]
    for name in names:
        header += [f"{name} req/s", f"{name} p99 ms"]
    ratios = [key for key in RATIO_TITLES if _has(summary, key)]
    header += [RATIO_TITLES[r] for r in ratios]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for endpoint, row in summary.items():
        cells = [endpoint]
        for name in names:
            cell = row.get(name)
            if cell is None:
                cells += ["n/a", "n/a"]
                continue
            mark = f" ({cell['errors']} errors)" if cell["errors"] else ""
            cells += [f"{cell['median_rps']:,.0f}{mark}", f"{cell['median_p99_ms']:.2f}"]
        cells += [f"{row[r]:.2f}x" if r in row else "n/a" for r in ratios]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


RATIO_TITLES: Final = {
    "ratio_ours_theirs": "ours/theirs",
    "paired_ratio_ours_theirs": "ours/theirs per round (median)",
    "ratio_ours_fastapi": "ours/fastapi",
    "paired_ratio_log_cost": "ours-log/ours per round (median)",
    "paired_ratio_log_json_cost": "ours-log-json/ours per round (median)",
    "paired_ratio_metrics_cost": "ours-metrics/ours per round (median)",
    "paired_ratio_ours_gunicorn": "ours/gunicorn per round (median)",
    "paired_ratio_policies_ours_theirs": "ours-policies/theirs-policies per round (median)",
    "paired_ratio_policies_cost": "ours-policies/ours per round (median)",
    "paired_ratio_theirs_ceiling": "theirs/ceiling per round (median)",
    "paired_ratio_ours_ceiling": "ours/ceiling per round (median)",
    "paired_ratio_ours_ceiling_held": "ours/ceiling-held per round (median)",
    "paired_ratio_ours_base": "ours/ours-base per round (median)",
}


def _has(summary: dict[str, dict[str, Any]], key: str) -> bool:
    return any(key in row for row in summary.values())


# --------------------------------------------------------------------------------------------


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=5, help="seconds per wrk run")
    parser.add_argument("--runs", type=int, default=3, help="measured runs per endpoint")
    parser.add_argument("--warmup", type=int, default=2, help="warm-up seconds per endpoint")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument(
        "--servers",
        default="ours,theirs,fastapi",
        help="comma-separated: ours, ours-base, ours-log, ours-log-json, ours-metrics, "
        "ours-policies, theirs, theirs-policies, "
        "fastapi, gunicorn, ceiling; or all",
    )
    parser.add_argument(
        "--endpoints",
        default=",".join(e.name for e in ENDPOINTS if e.default),
        help="comma-separated names (default: the original set; the ORM, django-view and gzip "
        f"endpoints only by name); or all. Known: {', '.join(e.name for e in ENDPOINTS)}",
    )
    parser.add_argument("--no-save", action="store_true", help="print only, write no results")
    parser.add_argument(
        "--base-tree",
        default="",
        help="a checkout of another commit of ours, measured as the server ours-base",
    )
    parser.add_argument(
        "--together",
        action="store_true",
        help="load the servers of an endpoint at the same time: they share the server core, so "
        "each one's req/s follows its CPU cost per request and the machine's swings hit all "
        "alike (for comparing close costs, such as the policies' one)",
    )
    return parser.parse_args(argv)


def select_endpoints(spec: str) -> list[Endpoint]:
    if spec == "all":
        return list(ENDPOINTS)
    wanted = spec.split(",")
    unknown = set(wanted) - {e.name for e in ENDPOINTS}
    if unknown:
        raise SystemExit(f"unknown endpoint(s) {', '.join(sorted(unknown))}")
    return [e for e in ENDPOINTS if e.name in wanted]


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    # A SIGTERM must unwind through the context managers so the servers are stopped too.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    import install_deps

    install_deps.ensure_wrk()
    if (os.cpu_count() or 1) < 2:
        print("[bench] warning: fewer than 2 cores; server and wrk share one", file=sys.stderr)
    WORK.mkdir(exist_ok=True)
    RESULTS.mkdir(exist_ok=True)
    endpoints = select_endpoints(args.endpoints)
    servers = make_servers(args.servers.split(","), args.base_tree)
    python = find_python312()
    for server in servers:
        ensure_venv(server, python)
    versions = {server.name: package_version(server) for server in servers}
    # Always: the servers open the catalogue read-only at start-up (runbolt's migration check
    # reads it), so it must exist even when no ORM endpoint is measured.
    prepare_database(servers)
    if any(e.postgres for e in endpoints):
        prepare_postgres(servers)
    results: dict[str, dict[str, list[Sample]]] = {e.name: {} for e in endpoints}
    skipped: dict[str, dict[str, str]] = {}
    not_applicable = {e.name: [s.name for s in servers if not serves(s.name, e)] for e in endpoints}
    with contextlib.ExitStack() as stack:
        for server in servers:
            stack.enter_context(running(server))
        for server in servers:
            problem = check_cors(server) if server.policies else None
            if problem is not None:
                raise SystemExit(f"{server.name}: global CORS not in force: {problem}")
        live: dict[str, list[Server]] = {}
        for endpoint in endpoints:
            live[endpoint.name] = []
            for server in servers:
                if not serves(server.name, endpoint):
                    continue  # no such route there: n/a, not a failure
                problem = check(server, endpoint)
                if problem is None:
                    live[endpoint.name].append(server)
                else:
                    skipped.setdefault(endpoint.name, {})[server.name] = problem
                    print(f"[bench] {server.name} {endpoint.name}: {problem}", file=sys.stderr)
        for endpoint in endpoints:
            for server in live[endpoint.name]:
                run_wrk(server, endpoint, args.warmup, args.connections)
        for round_no in range(args.runs):
            for endpoint in endpoints:
                # The order turns each round: a server measured first (or right after another
                # one's load) in every round would carry that position's bias in every ratio.
                order = live[endpoint.name]
                turn = round_no % len(order) if order else 0
                order = order[turn:] + order[:turn]
                if args.together:
                    samples = run_together(order, endpoint, args.duration, args.connections)
                else:
                    samples = [run_wrk(s, endpoint, args.duration, args.connections) for s in order]
                for server, sample in zip(order, samples, strict=True):
                    results[endpoint.name].setdefault(server.name, []).append(sample)
                    print(
                        f"[bench] run {round_no + 1}/{args.runs} {endpoint.name:14} "
                        f"{server.name:15} {sample.rps:>10,.0f} req/s  p99 {sample.p99_ms:.2f} ms",
                        file=sys.stderr,
                    )
    summary = summarize(results)
    table = markdown_table(summary, servers)
    print(table)
    if args.no_save:
        return 0
    now = dt.datetime.now(dt.UTC)
    record = {
        "date": now.isoformat(timespec="seconds"),
        "command": "python3 bench/run.py " + " ".join(argv),
        "settings": vars(args),
        "machine": machine_info(),
        "versions": versions,
        "servers": {s.name: s.label for s in servers},
        "summary": summary,
        "failed_checks": skipped,
        "not_applicable": {k: v for k, v in not_applicable.items() if v},
    }
    stamp = now.strftime("%Y%m%dT%H%M%SZ")
    (RESULTS / f"{stamp}.json").write_text(json.dumps(record, indent=2) + "\n")
    markdown = render_markdown(record, table)
    (RESULTS / f"{stamp}.md").write_text(markdown)
    (RESULTS / "latest.md").write_text(markdown)
    print(f"[bench] wrote bench/results/{stamp}.json and .md", file=sys.stderr)
    return 0


def render_markdown(record: dict[str, Any], table: str) -> str:
    machine = record["machine"]
    lines = [
        f"Run {record['date']} on {machine['cpu']} ({machine['cores']} cores, "
        f"Linux {machine['kernel']}); command: `{record['command'].strip()}`.",
        "",
        "Versions (package, Python): "
        + ", ".join(f"{k} {v}" for k, v in record["versions"].items())
        + ".",
        "",
        table,
        "",
    ]
    for endpoint, problems in record["failed_checks"].items():
        for server, problem in problems.items():
            lines.append(f"- {server} {endpoint} not measured: {problem}")
    for endpoint, names in record["not_applicable"].items():
        lines.append(f"- {endpoint}: n/a on {', '.join(names)} (no such route there)")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
