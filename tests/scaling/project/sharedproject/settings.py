"""A project whose state lives outside the process: PostgreSQL and Redis, shared by every host.

The test names the database (``BOLT_TEST_PG_NAME``), the Redis URL and a key prefix of its own
(``BOLT_TEST_REDIS_URL``, ``BOLT_TEST_REDIS_PREFIX``) and the host's name (``BOLT_TEST_HOST``).
"""

from __future__ import annotations

import os

SECRET_KEY = "scaling-tests-only-not-secret"  # the same on every host: sessions, JWTs
DEBUG = False
ALLOWED_HOSTS = ["*"]
USE_TZ = True
INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django_bolt",
]
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": os.environ.get("BOLT_TEST_PG_NAME", "test"),
        "USER": os.environ.get("PGUSER", "postgres"),
        "HOST": "127.0.0.1",
        "PORT": "5432",
        "CONN_MAX_AGE": 60,
        "OPTIONS": {"connect_timeout": 3},
    }
}
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": os.environ.get("BOLT_TEST_REDIS_URL", "redis://127.0.0.1:6379/15"),
        "KEY_PREFIX": os.environ.get("BOLT_TEST_REDIS_PREFIX", "bolt-scaling"),
    }
}
# Sessions in PostgreSQL, rate limits and JWT revocations in Redis: nothing in a process.
SESSION_ENGINE = "django.contrib.sessions.backends.db"
BOLT_RATE_LIMIT_BACKEND = "default"
# Tests log in often; the default hasher's cost would only slow them down.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
BOLT_API = ["sharedproject.api:api"]
