"""Revoked, consumed and family-revoked token ids, each kept until its ``expires_at``."""

from __future__ import annotations

from django.db import models


class AbstractRevokedToken(models.Model):  # type: ignore[misc]
    """The two fields :class:`~django_bolt.auth.DjangoORMRevocation` reads; subclass it for a
    table of your own (``DjangoORMRevocation(model="myapp.MyRevokedToken")``)."""

    jti = models.CharField(max_length=255, unique=True)
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return str(self.jti)


class RevokedToken(AbstractRevokedToken):
    """The default table (``bolt_jwt_revocation.RevokedToken``)."""

    class Meta(AbstractRevokedToken.Meta):
        abstract = False
        verbose_name = "revoked token"
