"""Settings of the wire tests' project: what runbolt needs, small body limits and a CORS origin
(test_wire.py sets the same values when it asks the TestClient)."""

from __future__ import annotations

from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
SECRET_KEY = "wire-tests-only-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["*"]
USE_TZ = True
ROOT_URLCONF = "wiresite.urls"
INSTALLED_APPS = ["django.contrib.contenttypes", "django.contrib.auth", "django_bolt"]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
BOLT_ALLOWED_FILE_PATHS = [str(BASE_DIR)]
# Small, so the limit and the spooling are reached with a few KiB.
BOLT_MAX_UPLOAD_SIZE = 4096
BOLT_BODY_SPOOL_THRESHOLD = 1024
CORS_ALLOWED_ORIGINS = ["https://app.example.com"]
