"""Benchmark settings: no middleware, no compression, no debug (policies only on request).

Two environment variables, set by bench/run.py:

- ``BENCH_DB``: the SQLite file the ORM endpoints read (the harness creates and fills it before
  any server starts); unset, ``bench/.work/bench.sqlite3``. ``BENCH_DB_READONLY=1`` (set for the
  servers) opens it read-only.
- ``BENCH_POLICIES=1``: the "-policies" servers. Compression (gzip, 500 bytes and up) and CORS
  are configured globally, as a project that wants them everywhere would.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

SECRET_KEY = "bench-only-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["*"]
USE_TZ = True
ROOT_URLCONF = "benchproject.urls"
WSGI_APPLICATION = "benchproject.wsgi.application"
# gunicorn's venv has Django only: the plain view it serves needs no django_bolt.
INSTALLED_APPS = [
    *(["django_bolt"] if importlib.util.find_spec("django_bolt") else []),
    "benchproject.catalog",
]
MIDDLEWARE: list[str] = []
_DB_FILE = os.environ.get("BENCH_DB") or str(
    Path(__file__).resolve().parents[2] / ".work" / "bench.sqlite3"
)
# CONN_MAX_AGE stays Django's default (0) unless BENCH_CONN_MAX_AGE says otherwise: what a
# project gets unless it tunes it. Both implementations then keep a thread's connection between
# requests (neither a positive CONN_MAX_AGE nor CONN_HEALTH_CHECKS is set).
# The servers open the file read-only (BENCH_DB_READONLY=1, a SQLite URI, which Django's
# backend always accepts); the harness's migrate and fill commands open it for writing.
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": (
            f"file:{_DB_FILE}?mode=ro" if os.environ.get("BENCH_DB_READONLY") == "1" else _DB_FILE
        ),
    }
}
# BENCH_CONN_MAX_AGE=none (persistent) or a number of seconds overrides the default 0.
_MAX_AGE = os.environ.get("BENCH_CONN_MAX_AGE", "0")
DATABASES["default"]["CONN_MAX_AGE"] = None if _MAX_AGE.lower() == "none" else int(_MAX_AGE)
# BENCH_PG_DB names a PostgreSQL database (on 127.0.0.1:5432, user postgres) for the "-pg" ORM
# endpoints, under the alias "pg"; bench/run.py creates, migrates and fills it when one of them is
# measured. Same CONN_MAX_AGE rule as the SQLite alias.
if os.environ.get("BENCH_PG_DB"):
    DATABASES["pg"] = {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": os.environ["BENCH_PG_DB"],
        "HOST": os.environ.get("BENCH_PG_HOST", "127.0.0.1"),
        "PORT": os.environ.get("BENCH_PG_PORT", "5432"),
        "USER": os.environ.get("BENCH_PG_USER", "postgres"),
        "CONN_MAX_AGE": DATABASES["default"]["CONN_MAX_AGE"],
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# Both implementations read this; None means no compression (wrk sends no Accept-Encoding anyway).
BOLT_COMPRESSION = None
BOLT_ACCESS_LOG = False
# Django-Bolt 0.13's Rust core writes its per-request line to the "django.server" logger when
# that logger is enabled for INFO; raising it to WARNING is how its access log is turned off.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "loggers": {"django.server": {"level": "WARNING"}},
}

if os.environ.get("BENCH_POLICIES") == "1":
    # Both packages export CompressionConfig from django_bolt.middleware; gunicorn's venv has no
    # django_bolt, hence the import only here.
    from django_bolt.middleware import CompressionConfig

    BOLT_COMPRESSION = CompressionConfig(backend="gzip", minimum_size=500)
    CORS_ALLOWED_ORIGINS = ["https://app.example.com"]
