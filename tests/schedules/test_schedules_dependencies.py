"""The dependency rule: `schedules` stays pure domain and storage (see DESIGN.md)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SCHEDULES = Path(__file__).resolve().parents[2] / "schedules"
MODULES = sorted(SCHEDULES.glob("*.py"))
# web and bridge sit above or beside schedules; the media and HTTP stacks belong to them.
# icalendar is only a test dependency: schedules/ics.py writes iCalendar by hand.
FORBIDDEN = frozenset({"web", "bridge", "aiohttp", "aiortc", "av", "icalendar"})


def imported_roots(source: str) -> set[str]:
    """The top-level packages that `source` imports, wherever the import statement sits."""
    roots: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and not node.level:  # relative stays inside
            roots.add((node.module or "").split(".")[0])
    return roots


def test_the_checker_sees_every_kind_of_import():
    source = (
        "import av\n"
        "from aiohttp import web\n"
        "import bridge.relay.fanout as relay\n"
        "from . import model\n"
        "def later():\n"
        "    import aiortc\n"
        "if False:\n"
        "    from web.http.bookings import routes\n"
    )
    assert imported_roots(source) == {"av", "aiohttp", "bridge", "aiortc", "web"}


def test_the_package_is_all_there():
    assert {"model", "service", "store", "ics", "lifecycle", "recurrence"} <= {
        p.stem for p in MODULES
    }


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.name)
def test_schedules_imports_no_web_bridge_or_media(path):
    assert imported_roots(path.read_text(encoding="utf-8")) & FORBIDDEN == set()
