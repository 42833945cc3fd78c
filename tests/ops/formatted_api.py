"""APIs with error formatters, for discovery's one-formatter rule (test_error_formatter.py)."""

from __future__ import annotations

from django_bolt import BoltAPI
from django_bolt.error_handlers import BoltError, problem_details
from django_bolt.responses import JSON, Response

api = BoltAPI(error_formatter=problem_details)


def _other(error: BoltError, request: object) -> Response:
    return JSON({"error": error.kind}, error.status)


other = BoltAPI(error_formatter=_other)
