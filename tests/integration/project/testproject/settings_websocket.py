"""The test project serving WebSocket routes (api_websocket.py)."""

from __future__ import annotations

from testproject.settings import *  # noqa: F403 - the same project, plus the line below

BOLT_API = ["testproject.api_websocket:api"]
