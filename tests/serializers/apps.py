"""The serializer tests' models as a Django app (reverse relations need an installed app)."""

from __future__ import annotations

from django.apps import AppConfig


class SerializerTestsConfig(AppConfig):
    name = "tests.serializers"
    label = "bolt_serializer_tests"
    default_auto_field = "django.db.models.BigAutoField"
