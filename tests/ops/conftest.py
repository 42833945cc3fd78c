"""The integration tests' fixtures, for the tests here that run a real runbolt."""

from __future__ import annotations

from tests.integration.conftest import run_bolt

__all__ = ("run_bolt",)
