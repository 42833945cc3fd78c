"""Fixtures for the framework tests: every test builds a tiny API and drives it in process."""

from __future__ import annotations

from django_bolt.testing import bolt_client_factory

__all__ = ("bolt_client_factory",)
