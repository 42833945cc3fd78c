"""The test project with rate limits shared through Redis (URL and key prefix from the test)."""

from __future__ import annotations

import os

from testproject.settings import *  # noqa: F403 - the same project, plus the lines below

CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    "limits": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": os.environ["BOLT_TEST_REDIS_URL"],
        "KEY_PREFIX": os.environ["BOLT_TEST_REDIS_PREFIX"],
    },
}
BOLT_RATE_LIMIT_BACKEND = "limits"
BOLT_API = ["testproject.api_ratelimit:api"]
