"""Authentication classes and guards: ``auth=[...]`` attempts, ``guards=[...]`` enforce."""

from __future__ import annotations

from django_bolt.auth.api_key import APIKeyAuthentication
from django_bolt.auth.base import AuthenticationFailed, BaseAuthentication, TokenUser
from django_bolt.auth.current_user import (
    CurrentUser,
    OptionalCurrentUser,
    extract_user_id_from_context,
    get_auth_context,
    get_current_user,
    get_current_user_sync,
    require_current_user,
    require_current_user_sync,
)
from django_bolt.auth.guards import (
    AllowAny,
    BasePermission,
    HasAllPermissions,
    HasAnyPermission,
    HasPermission,
    IsAdminUser,
    IsAuthenticated,
    IsStaff,
    Requires,
)
from django_bolt.auth.jwt import (
    DjangoCacheRevocationStore,
    InMemoryRevocationStore,
    JWTAuthentication,
    create_jwt_for_user,
)
from django_bolt.auth.session import SessionAuthentication

__all__ = (
    "APIKeyAuthentication",
    "AllowAny",
    "AuthenticationFailed",
    "BaseAuthentication",
    "BasePermission",
    "CurrentUser",
    "DjangoCacheRevocationStore",
    "HasAllPermissions",
    "HasAnyPermission",
    "HasPermission",
    "InMemoryRevocationStore",
    "IsAdminUser",
    "IsAuthenticated",
    "IsStaff",
    "JWTAuthentication",
    "OptionalCurrentUser",
    "Requires",
    "SessionAuthentication",
    "TokenUser",
    "create_jwt_for_user",
    "extract_user_id_from_context",
    "get_auth_context",
    "get_current_user",
    "get_current_user_sync",
    "require_current_user",
    "require_current_user_sync",
)
