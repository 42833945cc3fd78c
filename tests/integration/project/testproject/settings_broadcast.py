"""The test project with WebSocket broadcast through Redis (URL from the test)."""

from __future__ import annotations

import os

from testproject.settings import *  # noqa: F403 - the same project, plus the lines below

BOLT_BROADCAST_BACKEND = os.environ["BOLT_TEST_REDIS_URL"]
BOLT_API = ["testproject.api_broadcast:api"]
