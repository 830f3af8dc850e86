"""The dependency rule for `bridge`: media only; it never imports web, schedules or aiohttp."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

BRIDGE = Path(__file__).resolve().parents[2] / "bridge"
MODULES = sorted(BRIDGE.glob("*.py"))
FORBIDDEN = frozenset({"web", "schedules", "aiohttp", "jinja2", "sqlalchemy"})


def imported_roots(source: str) -> set[str]:
    """The top-level packages that `source` imports, wherever the import statement sits."""
    roots: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and not node.level:
            roots.add((node.module or "").split(".")[0])
    return roots


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.name)
def test_bridge_imports_no_web_schedules_or_http(path: Path) -> None:
    assert imported_roots(path.read_text(encoding="utf-8")) & FORBIDDEN == set()


def test_every_private_aiortc_access_is_in_the_hook_module() -> None:
    for path in MODULES:
        if path.name == "aiortc_hooks.py":
            continue
        text = path.read_text(encoding="utf-8")
        assert "_RTCRtp" not in text and "._handle_rtp_packet" not in text, path.name
