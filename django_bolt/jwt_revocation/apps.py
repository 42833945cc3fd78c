"""The app's configuration: its label names the model ``bolt_jwt_revocation.RevokedToken``."""

from __future__ import annotations

from django.apps import AppConfig


class JWTRevocationConfig(AppConfig):  # type: ignore[misc]
    """``django_bolt.jwt_revocation``: the revoked-token table."""

    name = "django_bolt.jwt_revocation"
    label = "bolt_jwt_revocation"
    verbose_name = "Revoked tokens"
    default_auto_field = "django.db.models.BigAutoField"
