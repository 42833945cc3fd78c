"""Settings of the integration tests' project (SQLite file chosen by the test, or in memory)."""

from __future__ import annotations

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
SECRET_KEY = "integration-tests-only-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["*"]
USE_TZ = True
ROOT_URLCONF = "testproject.urls"
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.admin",
    "django_bolt",
]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("BOLT_TEST_DB", ":memory:"),
    }
}
STATIC_URL = "/static/"
# collectstatic target for the static-files test; unset (the default) means no STATIC_ROOT.
STATIC_ROOT = os.environ.get("BOLT_TEST_STATIC_ROOT") or None
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
BOLT_API = ["testproject.api:api"]
# The large-upload test raises the body limit (10 MiB by default) and picks the upload directory.
if os.environ.get("BOLT_TEST_MAX_UPLOAD_SIZE"):
    BOLT_MAX_UPLOAD_SIZE = int(os.environ["BOLT_TEST_MAX_UPLOAD_SIZE"])
FILE_UPLOAD_TEMP_DIR = os.environ.get("BOLT_TEST_UPLOAD_DIR") or None
