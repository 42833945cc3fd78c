"""docs/security.md keeps the one table of request limits: every limit row of conf.py is in it."""

from __future__ import annotations

from pathlib import Path

import pytest

from django_bolt.conf import OPTIONS

DOCS = Path(__file__).resolve().parents[1] / "docs" / "security.md"
LIMITS = (
    "max_request_line_bytes",
    "max_header_bytes",
    "max_header_count",
    "max_upload_size",
    "body_spool_threshold",
    "header_read_timeout_s",
    "body_read_timeout_s",
    "body_min_rate",
    "write_timeout_s",
    "limit_concurrency",
    "keep_alive_s",
    "websocket_max_message_size",
    "websocket_max_queue",
    "websocket_ping_interval_s",
    "websocket_ping_timeout_s",
    "websocket_idle_timeout_s",
    "websocket_close_timeout_s",
)


@pytest.mark.parametrize("name", LIMITS)
def test_every_limit_is_in_the_security_table(name: str) -> None:
    (option,) = [opt for field, opt in OPTIONS if field.name == name]
    assert option.setting is not None
    table = DOCS.read_text().split("## Limits", 1)[1].split("\n## ", 1)[0]
    assert f"`{option.setting}`" in table
