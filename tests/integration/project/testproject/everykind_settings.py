"""The integration project serving tests/openapi/everykind.py (the schemathesis test)."""

from __future__ import annotations

from testproject.settings import *  # noqa: F403 - the same project, another API

BOLT_API = ["tests.openapi.everykind:api"]
