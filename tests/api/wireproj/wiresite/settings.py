"""Settings of the wire tests' project: nothing beyond what runbolt needs."""

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
