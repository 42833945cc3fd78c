"""Authentication classes and guards: ``auth=[...]`` attempts, ``guards=[...]`` enforce."""

from __future__ import annotations

from django_bolt.auth.api_key import APIKeyAuthentication
from django_bolt.auth.base import AuthContext, AuthenticationFailed, BaseAuthentication, TokenUser
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
    get_default_authentication_classes,
    get_default_permission_classes,
)
from django_bolt.auth.jwt import (
    DjangoCacheRevocationStore,
    InMemoryRevocationStore,
    JWTAuthentication,
    create_jwt_for_user,
)
from django_bolt.auth.revocation import (
    DjangoCacheRevocation,
    DjangoORMRevocation,
    InMemoryRevocation,
    RevocationStore,
    create_revocation_handler,
)
from django_bolt.auth.session import SessionAuthentication
from django_bolt.auth.token import Token
from django_bolt.auth.tokens import (
    TokenPair,
    TokenRotationError,
    create_token_pair,
    rotate_refresh_token,
    set_token_cookies,
)
from django_bolt.auth.users import (
    ClaimsUser,
    get_registered_backend,
    load_user,
    register_auth_backend,
)
from django_bolt.auth.views import JWTAuthViews, LoginCredentials

__all__ = (
    "APIKeyAuthentication",
    "AllowAny",
    "AuthContext",
    "AuthenticationFailed",
    "BaseAuthentication",
    "BasePermission",
    "ClaimsUser",
    "CurrentUser",
    "DjangoCacheRevocation",
    "DjangoCacheRevocationStore",
    "DjangoORMRevocation",
    "HasAllPermissions",
    "HasAnyPermission",
    "HasPermission",
    "InMemoryRevocation",
    "InMemoryRevocationStore",
    "IsAdminUser",
    "IsAuthenticated",
    "IsStaff",
    "JWTAuthViews",
    "JWTAuthentication",
    "LoginCredentials",
    "OptionalCurrentUser",
    "Requires",
    "RevocationStore",
    "SessionAuthentication",
    "Token",
    "TokenPair",
    "TokenRotationError",
    "TokenUser",
    "create_jwt_for_user",
    "create_revocation_handler",
    "create_token_pair",
    "extract_user_id_from_context",
    "get_auth_context",
    "get_current_user",
    "get_current_user_sync",
    "get_default_authentication_classes",
    "get_default_permission_classes",
    "get_registered_backend",
    "load_user",
    "register_auth_backend",
    "require_current_user",
    "require_current_user_sync",
    "rotate_refresh_token",
    "set_token_cookies",
)
