"""docs/settings.md is FrameworkConfig's table; the other pages agree with it and name no
setting that does not exist.

The table is rendered from ``django_bolt.conf.SETTINGS_TABLE`` (name, default, help text); when
it differs, the assertion shows the table to paste in.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Final

from django_bolt.conf import DEFAULT_COMPRESSION, OPTIONS, SETTINGS_TABLE

DOCS: Final = Path(__file__).resolve().parents[1] / "docs"
SECTION: Final = "## Framework settings"
# Environment variables of the test suite, not settings.
TEST_VARIABLES: Final = frozenset({"BOLT_FUZZ_EXAMPLES", "BOLT_FUZZ_SEED", "BOLT_REQUIRE_SERVICES"})


def _default(value: Any) -> str:
    if value is DEFAULT_COMPRESSION:
        return "`CompressionConfig()`"
    return f"`{list(value)!r}`" if isinstance(value, tuple) else f"`{value!r}`"


def rendered_table() -> str:
    """Return the markdown table of every framework setting and older name, in table order."""
    rows = ["| setting | default | meaning |", "| --- | --- | --- |"]
    for f, setting in SETTINGS_TABLE:
        rows.append(f"| `{setting.name}` | {_default(f.default)} | {setting.help} |")
        rows.extend(
            f"| `{alias}` | unset | Another name for `{setting.name}`, read when that one is "
            "not set. |"
            for alias in setting.aliases
        )
    return "\n".join(rows)


def _documented_table() -> str:
    section = (DOCS / "settings.md").read_text().split(SECTION, 1)[1].split("\n## ", 1)[0]
    return "\n".join(line for line in section.splitlines() if line.startswith("|"))


def test_the_settings_reference_is_the_framework_config_table() -> None:
    expected = rendered_table()
    assert _documented_table() == expected, (
        f"docs/settings.md's table under {SECTION!r} differs from FrameworkConfig; "
        f"paste this:\n\n{expected}\n"
    )


def test_the_docs_name_only_settings_that_exist() -> None:
    known = {opt.setting for _, opt in OPTIONS if opt.setting} | TEST_VARIABLES
    for _, setting in SETTINGS_TABLE:
        known.update((setting.name, *setting.aliases))
    named: dict[str, set[str]] = {}
    for page in sorted(DOCS.glob("*.md")):
        # \b before BOLT_: not the DJANGO_BOLT_* environment variables.
        for name in re.findall(r"\b(?:BOLT|CORS)_[A-Z0-9_]*[A-Z0-9]", page.read_text()):
            named.setdefault(name, set()).add(page.name)
    unknown = {name: sorted(pages) for name, pages in named.items() if name not in known}
    assert not unknown, f"the docs name settings that do not exist: {unknown}"


_UNITS: Final = {"KiB": 1024, "MiB": 1024 * 1024}


def _normalized(cell: str) -> str:
    sized = re.fullmatch(r"([\d.]+) (KiB|MiB)", cell)
    if sized:
        return str(int(float(sized[1]) * _UNITS[sized[2]]))
    return re.sub(r"[`'\"\[\]\s]", "", cell)


def test_other_tables_give_the_same_defaults() -> None:
    # cors.md and rate_limit.md repeat their settings' rows next to the prose about them.
    defaults = {}
    for f, setting in SETTINGS_TABLE:
        defaults[setting.name] = _normalized(_default(f.default))
        defaults.update(dict.fromkeys(setting.aliases, "unset"))
    checked = 0
    for page in sorted(DOCS.glob("*.md")):
        for line in page.read_text().splitlines():
            cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
            name = cells[0].strip("`")
            if line.startswith("|") and len(cells) >= 3 and name in defaults:
                assert _normalized(cells[1]) == defaults[name], (page.name, line)
                checked += 1
    assert checked > len(SETTINGS_TABLE)
