"""Django-Bolt 0.13's import paths for class-based views and pagination all resolve here."""

from __future__ import annotations

import importlib

import pytest

NAMES = {
    "django_bolt.views": (
        "APIView",
        "ViewSet",
        "ModelViewSet",
        "ReadOnlyModelViewSet",
        "ListMixin",
        "RetrieveMixin",
        "CreateMixin",
        "UpdateMixin",
        "PartialUpdateMixin",
        "DestroyMixin",
    ),
    "django_bolt.pagination": (
        "PaginationBase",
        "PageNumberPagination",
        "LimitOffsetPagination",
        "CursorPagination",
        "PaginatedResponse",
        "paginate",
        "extract_pagination_item_type",
    ),
    "django_bolt.decorators": ("action",),
}


@pytest.mark.parametrize("module", sorted(NAMES))
def test_names_at_their_module_and_at_the_top(module: str) -> None:
    top = importlib.import_module("django_bolt")
    found = importlib.import_module(module)
    for name in NAMES[module]:
        value = getattr(found, name)
        if name != "extract_pagination_item_type":
            assert getattr(top, name) is value, name
            assert name in top.__all__
