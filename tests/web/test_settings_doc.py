"""The settings table: every row of web.settings.SETTINGS is in README.md's table, and agrees."""

from __future__ import annotations

import re
from dataclasses import fields
from pathlib import Path

from web.settings import SETTINGS, Settings

README = Path(__file__).resolve().parents[2] / "README.md"
ENV_VAR = re.compile(r"\bTELEBRIDGE_[A-Z0-9_]+\b")


def table_rows() -> list[list[str]]:
    """The cells of every Markdown table row in the README that names a TELEBRIDGE_ variable."""
    assert README.exists(), f"{README} is missing: it must document every setting"
    rows = []
    for line in README.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line.startswith("|") and ENV_VAR.search(line):
            rows.append([cell.strip().strip("`").strip() for cell in line.strip("|").split("|")])
    return rows


def test_every_setting_is_in_the_readme_table() -> None:
    rows = table_rows()
    missing = []
    for s in SETTINGS:
        matching = [r for r in rows if s.env in r and s.name in r]
        if not matching:
            missing.append(f"{s.name} / {s.env}")
            continue
        row = matching[0]
        if s.default:
            assert any(s.default in cell for cell in row), f"{s.env}: default {s.default!r}"
    assert not missing, "settings missing from README.md's table: " + ", ".join(missing)


def test_readme_table_lists_no_unknown_setting() -> None:
    known = {s.env for s in SETTINGS}
    documented = {env for row in table_rows() for cell in row for env in ENV_VAR.findall(cell)}
    assert documented - known == set(), "README.md lists settings the code does not know"


def test_settings_table_matches_the_settings_in_force() -> None:
    names = [s.name for s in SETTINGS]
    assert len(set(names)) == len(names)
    assert len({s.env for s in SETTINGS}) == len(SETTINGS)
    assert names == [f.name for f in fields(Settings)]
    defaults = Settings.load({})
    plain = Settings()
    for s in SETTINGS:
        assert s.env == "TELEBRIDGE_" + s.name.upper()
        assert s.help.strip()
        # The table's default, read as the environment would be, is the dataclass's default.
        assert getattr(defaults, s.name) == getattr(plain, s.name), s.name
