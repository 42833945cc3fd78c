"""The one model the ORM endpoints read."""

from __future__ import annotations

from django.db import models


class Product(models.Model):
    name = models.CharField(max_length=100)
    price_cents = models.IntegerField()
    in_stock = models.BooleanField(default=True)
    created = models.DateTimeField()

    def __str__(self) -> str:
        return self.name
