"""How a WebSocket route appears in the OpenAPI document, as Django-Bolt 0.13 shows it.

OpenAPI has no operation for a WebSocket, so the route is documented by its handshake: a GET
operation on a path item marked ``x-websocket: true``, tagged ``WebSocket`` unless the route
names its tags, with the route's path, query, header and cookie values plus the two upgrade
fields as parameters, and the handshake's answers as responses (101 when accepted; 400, 403 and
426 when refused; 401 when a guard refuses anonymous clients). Its summary is labelled
``WebSocket:`` and its operationId is ``websocket_<name>``. A path that also has an HTTP GET
route keeps that operation: a plain GET request of the path is answered by it.
"""

from __future__ import annotations

from typing import Any, Final

__all__ = (
    "EXTENSION",
    "OPERATION_ID_PREFIX",
    "upgrade_parameters",
    "websocket_responses",
    "websocket_texts",
)

# The path item's mark (a specification extension, allowed by OpenAPI on any path item).
EXTENSION: Final = "x-websocket"
OPERATION_ID_PREFIX: Final = "websocket_"
_LABEL: Final = "WebSocket"
_DEFAULT_SUMMARY: Final = "WebSocket Connection"
_NOTE: Final = (
    "A WebSocket endpoint: open it with a `ws://` (or `wss://`) URL. The handshake is this GET "
    "request with `Upgrade: websocket`; a plain GET is answered 426."
)


def websocket_texts(summary: str | None, description: str | None) -> tuple[str, str]:
    """Return the operation's summary and description, both saying it is a WebSocket."""
    if not summary:
        summary = _DEFAULT_SUMMARY
    elif not summary.lower().startswith(_LABEL.lower()):
        summary = f"{_LABEL}: {summary}"
    text = f"{description.strip()}\n\n{_NOTE}" if description and description.strip() else _NOTE
    return summary, text


def upgrade_parameters() -> list[dict[str, Any]]:
    """Return the two request fields every handshake carries, as header parameters."""
    return [
        {
            "name": "Upgrade",
            "in": "header",
            "required": True,
            "schema": {"type": "string", "enum": ["websocket"]},
            "description": "`websocket`: the protocol the connection switches to",
        },
        {
            "name": "Connection",
            "in": "header",
            "required": True,
            "schema": {"type": "string", "enum": ["Upgrade"]},
            "description": "`Upgrade`: the connection changes protocol",
        },
    ]


def websocket_responses(refusing: bool, error_entry: Any) -> dict[str, Any]:
    """Return the handshake's answers; ``error_entry(description, ref)`` gives an error body."""
    error = "#/components/schemas/ErrorResponse"
    bad = "Bad Request: a broken handshake, or a value that does not convert"
    responses: dict[str, Any] = {
        "101": {
            "description": "Switching Protocols: the WebSocket is open",
            "headers": {
                "Upgrade": {"schema": {"type": "string", "enum": ["websocket"]}},
                "Connection": {"schema": {"type": "string", "enum": ["Upgrade"]}},
                "Sec-WebSocket-Accept": {"schema": {"type": "string"}},
            },
        },
        "400": error_entry(bad, error),
    }
    if refusing:
        responses["401"] = error_entry("Unauthorized", error)
    responses["403"] = error_entry(
        "Forbidden: the origin, a guard or the handler refused the connection", error
    )
    responses["426"] = {
        "description": "Upgrade Required: not a WebSocket handshake, or another version than 13",
        "headers": {"Sec-WebSocket-Version": {"schema": {"type": "string", "enum": ["13"]}}},
    }
    return responses
