"""``manage.py bolt_openapi [--format yaml] [--output FILE]``: print the project's OpenAPI document.

The document is the one ``/openapi.json`` serves: the project's APIs found the way ``runbolt``
finds them, with the served API's ``OpenAPIConfig`` (the defaults when docs are turned off, so
the document can still be exported).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec
from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError

from django_bolt.discovery import discover_application
from django_bolt.openapi import OpenAPIConfig, generate_schema
from django_bolt.openapi.routes import effective_config
from django_bolt.openapi.schema import to_yaml

if TYPE_CHECKING:
    import argparse


class Command(BaseCommand):
    help = "Print the OpenAPI 3.1 document of the project's APIs (JSON, or YAML with --format)."

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--format", choices=("json", "yaml"), default="json")
        parser.add_argument(
            "--output", "-o", metavar="FILE", help="Write to FILE instead of standard output."
        )
        parser.add_argument(
            "--indent", type=int, default=2, help="JSON indentation (0: one line). Default: 2."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            api: Any = discover_application()
        except ImproperlyConfigured as exc:
            raise CommandError(str(exc)) from None
        document = generate_schema(api, effective_config(api) or OpenAPIConfig())
        if options["format"] == "yaml":
            text = to_yaml(document).decode()
        else:
            encoded = msgspec.json.encode(document)
            indent = options["indent"]
            text = (msgspec.json.format(encoded, indent=indent) if indent else encoded).decode()
            text += "\n"
        output = options.get("output")
        if output:
            Path(output).write_text(text, encoding="utf-8")
        else:
            self.stdout.write(text, ending="")
