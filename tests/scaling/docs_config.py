"""The configurations of docs/scaling.md, read from the page so the tests run what it shows."""

from __future__ import annotations

import configparser
import re
import shlex
from pathlib import Path
from typing import Any

import yaml

from django_bolt.management.commands.runbolt import Command
from django_bolt.server.config import OPTIONS, ServerConfig, load_server_config

DOCS = Path(__file__).resolve().parents[2] / "docs" / "scaling.md"
NGINX_ADDRESS = "10.0.0.10"
DOC_HOSTS = ("10.0.0.11", "10.0.0.12")
PORT = 8000


def fenced(language: str) -> list[str]:
    """The bodies of the page's code blocks in ``language``, in order."""
    pattern = re.compile(rf"^```{language}\n(.*?)^```$", re.MULTILINE | re.DOTALL)
    return pattern.findall(DOCS.read_text())


def nginx_site() -> str:
    (block,) = fenced("nginx")
    return block


def units() -> list[configparser.ConfigParser]:
    """The systemd units, one per host (host A's first)."""
    parsed = []
    for text in fenced("ini"):
        # systemd's syntax is ini-like; keys are case-sensitive and may repeat.
        parser = configparser.ConfigParser(interpolation=None, strict=False)
        parser.optionxform = str  # type: ignore[assignment, method-assign]
        parser.read_string(text)
        parsed.append(parser)
    return parsed


def unit_texts() -> list[str]:
    return fenced("ini")


def runbolt_flags(argv: list[str]) -> list[str]:
    """The flags after ``manage.py runbolt`` in ``argv``."""
    start = argv.index("runbolt")
    assert argv[start - 1] == "manage.py", argv
    return argv[start + 1 :]


def exec_start_flags(unit: configparser.ConfigParser) -> list[str]:
    return runbolt_flags(shlex.split(unit["Service"]["ExecStart"]))


def unit_environment(unit: configparser.ConfigParser) -> dict[str, str]:
    name, _, value = unit["Service"]["Environment"].partition("=")
    return {name: value}


def server_config(flags: list[str], environ: dict[str, str]) -> ServerConfig:
    """What runbolt makes of ``flags`` and ``environ``: its parser and its own option checks."""
    options = Command().create_parser("manage.py", "runbolt").parse_args(flags)
    cli = {f.name: getattr(options, f.name, None) for f, _ in OPTIONS}
    return load_server_config(cli, environ, None)


def with_values(flags: list[str], **values: str) -> list[str]:
    """``flags`` with the value of each ``--name`` given (``name_with_underscores``) replaced."""
    changed = list(flags)
    for name, value in values.items():
        flag = "--" + name.replace("_", "-")
        changed[changed.index(flag) + 1] = value
    return changed


def manifests() -> dict[str, Any]:
    """The Kubernetes objects of the page, by kind."""
    (block,) = fenced("yaml")
    return {doc["kind"]: doc for doc in yaml.safe_load_all(block)}


def deploy_script() -> str:
    (script,) = [block for block in fenced("bash") if "for host in" in block]
    return script


def deploy_sed_lines() -> tuple[str, str]:
    """The script's two ``sed`` edits: take the host out of the upstream, put it back."""
    take_out, put_back = [line.strip() for line in deploy_script().splitlines() if " sed " in line]
    return take_out, put_back
