"""The architecture, checked: the layers, media only through bridge/, small packages, no import
cycles between packages, and an API description that covers every route.

Run alone with `python -m pytest tests/test_architecture.py`. Every import statement counts,
wherever it sits (inside functions, under `if`), as do `importlib.import_module("x")` and
`__import__("x")` with a literal name.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from openapi_check import drift

ROOT = Path(__file__).resolve().parents[1]
LAYERS = ("schedules", "bridge", "web")
MAX_MODULES = 15

# Which top-level packages each layer must never import, and why (said in the failure).
NEVER = {
    "schedules": {
        "web": "schedules is the pure booking domain: pass what it needs in from web/",
        "bridge": "schedules and bridge stay apart: web/ joins them",
        "aiohttp": "HTTP belongs to web/",
        "aiortc": "media belongs to bridge/",
        "av": "media belongs to bridge/",
        "icalendar": "a test dependency only: schedules/ics.py writes iCalendar by hand",
    },
    "bridge": {
        "web": "bridge is live media only: pass what it needs in from web/ (a RoomSpec)",
        "schedules": "schedules and bridge stay apart: web/ turns a booking into a RoomSpec",
        "aiohttp": "HTTP belongs to web/",
        "jinja2": "pages belong to web/",
        "sqlalchemy": "storage belongs to schedules/",
    },
    "web": {
        "aiortc": "web/ reaches media only through bridge/: add a function there",
        "av": "web/ reaches media only through bridge/: add a function there",
    },
}


@dataclass(frozen=True)
class Import:
    """One imported module name, where the import stands and whether it runs at all."""

    module: str  # the importing module, dotted
    target: str  # the imported name, dotted and absolute
    path: Path
    line: int
    type_only: bool  # under `if TYPE_CHECKING:`: for mypy, never executed
    statement: str  # as written (one statement may import several modules)

    def __str__(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}: {self.statement}"


def module_name(path: Path) -> str:
    """The dotted name of a module file of the project."""
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def project_modules() -> list[Path]:
    """Every module of the three layers."""
    return sorted(p for layer in LAYERS for p in (ROOT / layer).rglob("*.py"))


def _type_only_nodes(tree: ast.AST) -> set[int]:
    out: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If):
            test = node.test
            name = test.id if isinstance(test, ast.Name) else getattr(test, "attr", "")
            if name == "TYPE_CHECKING":
                out.update(id(inner) for stmt in node.body for inner in ast.walk(stmt))
    return out


def _absolute(path: Path, level: int, module: str | None) -> str:
    """A relative import's target, as an absolute dotted name."""
    package = module_name(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    base = package[: len(package) - (level - 1)] if level > 1 else package
    return ".".join([*base, module] if module else base)


def imports_of(source: str, path: Path) -> Iterator[Import]:
    """Every import in `source`, at any depth."""
    tree = ast.parse(source)
    type_only = _type_only_nodes(tree)
    me = module_name(path) if path.is_relative_to(ROOT) else path.stem
    for node in ast.walk(tree):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(path, node.level, node.module) if node.level else node.module or ""
            # `from web.http import links` imports web.http.links when that is a module.
            targets = [base] + [f"{base}.{alias.name}" for alias in node.names]
        elif (
            isinstance(node, ast.Call)
            and getattr(node.func, "attr", getattr(node.func, "id", None))
            in ("import_module", "__import__")
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            targets = [node.args[0].value]
        for target in targets:
            line = getattr(node, "lineno", 0)
            yield Import(me, target, path, line, id(node) in type_only, ast.unparse(node))


def all_imports() -> list[Import]:
    """Every import of every module of the three layers."""
    return [i for p in project_modules() for i in imports_of(p.read_text(encoding="utf-8"), p)]


def test_the_checker_sees_every_kind_of_import() -> None:
    source = (
        "import av\n"
        "from aiohttp import web\n"
        "import bridge.relay.fanout as relay\n"
        "from . import model\n"
        "def later():\n"
        "    import aiortc\n"
        "if False:\n"
        "    from web.http.bookings import routes\n"
        "importlib.import_module('sqlalchemy')\n"
    )
    path = ROOT / "schedules" / "example.py"
    roots = {i.target.split(".")[0] for i in imports_of(source, path)}
    assert roots == {"av", "aiohttp", "bridge", "aiortc", "web", "schedules", "sqlalchemy"}
    assert "schedules.model" in {i.target for i in imports_of(source, path)}
    typed = "if TYPE_CHECKING:\n    import web.services\nelse:\n    import web.tasks\n"
    assert {i.target: i.type_only for i in imports_of(typed, path)} == {
        "web.services": True,
        "web.tasks": False,
    }


def test_the_layers_are_all_there() -> None:
    names = {module_name(p) for p in project_modules()}
    expected = {f"schedules.{m}" for m in ("model", "service", "store", "ics", "rules.lifecycle")}
    expected |= {"schedules.rules.recurrence", "bridge.room", "bridge.aiortc_hooks", "web.app"}
    assert expected <= names, (
        "the layers moved: update this list and LAYERS in tests/test_architecture.py"
    )


@pytest.mark.parametrize("layer", LAYERS)
def test_each_layer_imports_only_what_it_may(layer: str) -> None:
    wrong = sorted(
        {
            f"{i} ({NEVER[layer][i.target.split('.')[0]]})"
            for i in all_imports()
            if i.module.split(".")[0] == layer and i.target.split(".")[0] in NEVER[layer]
        }
    )
    assert not wrong, (
        f"{layer}/ imports what its layer must not (web imports bridge and schedules; "
        "bridge and schedules never import web or each other):\n" + "\n".join(wrong)
    )


def test_private_aiortc_access_stays_in_the_hook_module() -> None:
    wrong = [
        str(p.relative_to(ROOT))
        for p in project_modules()
        if p.parent != ROOT / "bridge" / "aiortc_hooks"
        and any(
            s in p.read_text(encoding="utf-8")
            for s in ("_RTCRtp", "._handle_rtp_packet", "_RTCDtlsTransport", "._rx_srtp")
        )
    ]
    assert not wrong, (
        f"{wrong} touch aiortc internals: do it in bridge/aiortc_hooks/, the one package "
        "that is checked against aiortc's pinned version"
    )


def test_no_package_folder_holds_more_than_15_modules() -> None:
    crowded = []
    for init in sorted(p for layer in LAYERS for p in (ROOT / layer).rglob("__init__.py")):
        modules = sorted(p.name for p in init.parent.glob("*.py"))
        if len(modules) > MAX_MODULES:
            crowded.append(f"{init.parent.relative_to(ROOT)}/ holds {len(modules)}: {modules}")
    assert not crowded, (
        f"a package folder holds more than {MAX_MODULES} modules (__init__.py counted): group "
        "the modules of one concept into a sub-package:\n" + "\n".join(crowded)
    )


def package_of(module: str) -> str:
    """The node a module belongs to: its sub-package (web.http), or the module itself when it
    sits at the top of a layer (web.app, bridge.room): those are the composition roots and the
    shared bottoms, each a node of its own (lumped into one `web` node, the composition root
    that imports every sub-package would make a cycle with every sub-package)."""
    return ".".join(module.split(".")[:2])


def _strongly_connected(edges: dict[str, set[str]]) -> list[list[str]]:
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group: list[str] = []
            while not group or group[-1] != v:
                group.append(stack.pop())
            out.append(sorted(group))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return [g for g in out if len(g) > 1]


def test_no_import_cycles_between_packages() -> None:
    known = {module_name(p) for p in project_modules()}

    def resolve(target: str) -> str | None:
        while target and target not in known:
            target = target.rpartition(".")[0]
        return target or None

    edges: dict[str, set[str]] = {}
    why: dict[tuple[str, str], list[str]] = {}
    # Imports under TYPE_CHECKING never run: a type-only back reference is no cycle.
    for i in all_imports():
        target = resolve(i.target)
        if i.type_only or target is None:
            continue
        a, b = package_of(i.module), package_of(target)
        if a != b:
            edges.setdefault(a, set()).add(b)
            why.setdefault((a, b), []).append(str(i))
    cycles = _strongly_connected(edges)
    report = []
    for group in cycles:
        report.append(f"cycle among {', '.join(group)}:")
        for a in group:
            for b in sorted(edges.get(a, set()) & set(group)):
                report += [f"  {a} -> {b}: {line}" for line in sorted(set(why[(a, b)]))]
    assert not cycles, (
        "packages import each other in a circle; move what both need into the package "
        "lower down (for example the error types every layer raises out of web/http), or move "
        "a module to the package it serves:\n" + "\n".join(report)
    )


@pytest.fixture
def backend() -> str:
    """The routes do not depend on the database: SQLite only."""
    return "sqlite"


async def test_the_api_description_covers_every_route(
    app: web.Application, client: TestClient[web.Request, web.Application]
) -> None:
    resp = await client.get("/api/openapi.json")
    assert resp.status == 200, "serve GET /api/openapi.json (web/openapi/route.py in web/app.py)"
    problems = drift(app, await resp.json())
    assert not problems, "\n".join(problems)
