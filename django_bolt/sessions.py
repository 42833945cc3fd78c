"""Django sessions for API requests, at the path ``django_bolt.auth`` and ``api`` import.

The machinery lives in :mod:`django_bolt._django.sessions`; this module is kept for the modules
not yet moved there and as the path the documentation names.
"""

from django_bolt._django.sessions import (
    aget_session_user,
    check_csrf,
    finish_session,
    get_session_user,
    load_session,
    reset_session_config,
    session_config,
)

__all__ = (
    "aget_session_user",
    "check_csrf",
    "finish_session",
    "get_session_user",
    "load_session",
    "reset_session_config",
    "session_config",
)
