"""Authentication classes and guards: ``auth=[...]`` attempts, ``guards=[...]`` enforce."""

from __future__ import annotations

from django_bolt.auth.api_key import APIKeyAuthentication
from django_bolt.auth.base import AuthenticationFailed, BaseAuthentication, TokenUser
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
    "DjangoCacheRevocationStore",
    "HasAllPermissions",
    "HasAnyPermission",
    "HasPermission",
    "InMemoryRevocationStore",
    "IsAdminUser",
    "IsAuthenticated",
    "IsStaff",
    "JWTAuthentication",
    "Requires",
    "SessionAuthentication",
    "TokenUser",
    "create_jwt_for_user",
)
