"""Benchmark settings: no database work, no middleware, no compression, no debug."""

from __future__ import annotations

SECRET_KEY = "bench-only-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["*"]
USE_TZ = True
ROOT_URLCONF = "benchproject.urls"
INSTALLED_APPS = ["django_bolt"]
MIDDLEWARE: list[str] = []
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
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
