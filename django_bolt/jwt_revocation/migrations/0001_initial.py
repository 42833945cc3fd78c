"""Create the revoked-token table."""

from __future__ import annotations

from django.db import migrations, models


class Migration(migrations.Migration):  # type: ignore[misc]
    """The first version of ``bolt_jwt_revocation.RevokedToken``."""

    initial = True
    dependencies: list[tuple[str, str]] = []  # noqa: RUF012 - Django's migration shape

    operations = [  # noqa: RUF012
        migrations.CreateModel(
            name="RevokedToken",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("jti", models.CharField(max_length=255, unique=True)),
                ("expires_at", models.DateTimeField(db_index=True)),
            ],
            options={"verbose_name": "revoked token", "abstract": False},
        ),
    ]
