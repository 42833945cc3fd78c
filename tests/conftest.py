"""Shared fixtures. Service-backed tests skip when the service is absent, except under CI."""
