"""A module with no API, for BOLT_API error messages."""

not_an_api = object()
