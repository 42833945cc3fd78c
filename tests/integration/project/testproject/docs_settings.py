"""The integration project serving ``docs_api`` (the browser test of the documentation pages)."""

from __future__ import annotations

from testproject.settings import *  # noqa: F403 - the same project, another API

BOLT_API = ["testproject.docs_api:api"]
