"""``manage.py fill_catalog``: replace the catalogue's rows with the benchmark's fixed rows."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction

from benchproject.catalog.models import Product
from benchproject.catalog.rows import make_rows


class Command(BaseCommand):
    help = "Replace every Product with the benchmark's fixed rows."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--database", default="default", help="the alias to fill")

    def handle(self, *args: Any, **options: Any) -> None:
        alias = options["database"]
        with transaction.atomic(using=alias):
            Product.objects.using(alias).all().delete()
            Product.objects.using(alias).bulk_create(Product(**row) for row in make_rows())
        self.stdout.write(f"{Product.objects.using(alias).count()} products in {alias}")
