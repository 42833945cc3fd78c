"""The test project serving the routes the wire-security tests need (ALLOWED_HOSTS is "*").

A test may lower the server's slow-client limits through ``BOLT_TEST_*`` variables.
"""

from __future__ import annotations

import os

from testproject.settings import *  # noqa: F403 - the same project, plus the lines below

BOLT_API = ["testproject.api_wire:api"]
BOLT_WRITE_TIMEOUT = float(os.environ.get("BOLT_TEST_WRITE_TIMEOUT", "60"))
BOLT_BODY_READ_TIMEOUT = float(os.environ.get("BOLT_TEST_BODY_READ_TIMEOUT", "20"))
BOLT_BODY_MIN_RATE = int(os.environ.get("BOLT_TEST_BODY_MIN_RATE", "500"))
