"""A project whose API queries PostgreSQL (database named by ``BOLT_TEST_PG_NAME``)."""

from __future__ import annotations

import os

SECRET_KEY = "db-fault-tests-only-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["*"]
USE_TZ = True
INSTALLED_APPS = ["django.contrib.contenttypes", "django.contrib.auth", "django_bolt"]
_max_age = os.environ.get("BOLT_TEST_CONN_MAX_AGE", "60")
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": os.environ.get("BOLT_TEST_PG_NAME", "test"),
        "USER": os.environ.get("PGUSER", "postgres"),
        "HOST": "127.0.0.1",
        "PORT": "5432",
        "CONN_MAX_AGE": None if _max_age == "none" else int(_max_age),
        "CONN_HEALTH_CHECKS": os.environ.get("BOLT_TEST_CONN_HEALTH_CHECKS") == "1",
        # A connection attempt to a server that is restarting fails, it never waits long.
        "OPTIONS": {"connect_timeout": 3},
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
BOLT_API = ["dbproject.api:api"]
