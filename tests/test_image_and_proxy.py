"""The Dockerfile installs the package as the app needs it, the app's health checks pass on a
running app (and fail without one), and the nginx example forwards what the app trusts."""

from __future__ import annotations

import asyncio
import re
import sys
import tomllib
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
import setuptools
import yaml
from aiohttp.test_utils import unused_port
from deployment_files import (
    BY_ENV,
    BY_NAME,
    FONT_PACKAGES,
    NGINX_CONF,
    ROOT,
    docker_env,
    dockerfile,
    service,
)

from bridge.program.compositor import FONT_CANDIDATES
from web.app import make_app
from web.live import master_control
from web.settings import Settings


def _python_probe(test: list[str]) -> str:
    assert test[:3] == ["CMD", "python", "-c"], test
    return test[3]


def _dockerfile_probe() -> list[str]:
    rest = next(rest for w, rest in dockerfile() if w == "HEALTHCHECK")
    cmd = rest[rest.index("CMD") + 3 :].strip()
    return ["CMD", *yaml.safe_load(cmd)]  # an exec-form JSON array


@pytest.mark.parametrize("which", ["compose", "dockerfile"])
async def test_the_app_health_checks_pass_on_a_running_app_and_fail_without_one(
    tmp_path: Path, aiohttp_server: Any, which: str
) -> None:
    test = service("app")["healthcheck"]["test"] if which == "compose" else _dockerfile_probe()
    script = _python_probe(test)
    assert "/healthz" in script
    app = await make_app(Settings.load({}, data_dir=tmp_path / "data", secret="x"))
    # Not on 127.0.0.1: a probe that ignores TELEBRIDGE_HOST must fail here.
    server = await aiohttp_server(app, host="127.0.0.2", port=unused_port())
    env = {"TELEBRIDGE_HOST": "127.0.0.2", "TELEBRIDGE_PORT": str(server.port)}
    assert await _run(script, env) == 0, f"{which} health check fails on a healthy app"
    env["TELEBRIDGE_PORT"] = str(unused_port())
    assert await _run(script, env) != 0, f"{which} health check passes with no app"


async def _run(script: str, env: dict[str, str]) -> int:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        script,
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    return await asyncio.wait_for(proc.wait(), timeout=30)


def test_the_dockerfile_installs_the_package_as_a_non_root_user() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    steps = dockerfile()
    copied = {
        PurePosixPath(src).parts[0]
        for w, rest in steps
        if w == "COPY" and not rest.startswith("--from")
        for src in rest.split()[:-1]
    }
    packages = {
        p.rstrip("*") for p in pyproject["tool"]["setuptools"]["packages"]["find"]["include"]
    }
    assert packages <= copied, f"the image misses packages: {sorted(packages - copied)}"
    assert {"pyproject.toml", pyproject["project"]["readme"]} <= copied
    words = [w for w, _ in steps]
    runs = [rest for w, rest in steps if w == "RUN"]
    assert any(re.search(r"pip install (--\S+ )*\.(\s|$)", r) for r in runs), runs
    users = [rest for w, rest in steps if w == "USER"]
    assert users and users[-1] not in ("root", "0"), "the app must not run as root"
    assert words.index("USER") > max(i for i, w in enumerate(words) if w == "RUN")
    script = next(iter(pyproject["project"]["scripts"]))
    cmd = next(rest for w, rest in reversed(steps) if w == "CMD")
    assert yaml.safe_load(cmd) == [script, "serve"]
    installed = " ".join(runs)
    fonts = [d for pkg, d in FONT_PACKAGES.items() if re.search(rf"\b{pkg}\b", installed)]
    assert any(f.startswith(d) for f in FONT_CANDIDATES for d in fonts), (
        f"no package in the image provides the program's font {FONT_CANDIDATES}"
    )
    for name in docker_env():
        assert not name.startswith("TELEBRIDGE_") or name in BY_ENV, name


def test_the_installed_package_holds_every_module_template_and_translation() -> None:
    """What `pip install .` (the image's install) ships, by pyproject.toml's packages and
    package-data as setuptools reads them: every package under the three layers, the pages'
    templates and translations, and the static files. A new sub-package that the build left
    out would work in the tests' editable checkout and fail in the image."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    packages = setuptools.find_packages(str(ROOT), include=config["packages"]["find"]["include"])
    shipped = {
        str(path.relative_to(ROOT))
        for package in packages
        for pattern in ("*.py", *config["package-data"].get(package, []))
        for path in (ROOT / package.replace(".", "/")).glob(pattern)
        if path.is_file()
    }
    wanted = {
        str(path.relative_to(ROOT))
        for layer in ("schedules", "bridge", "web")
        for pattern in ("**/*.py", "**/*.html", "**/*.po", "static/**/*")
        for path in (ROOT / layer).glob(pattern)
        if "__pycache__" not in path.parts and path.is_file()
    }
    assert len(wanted) > 100, "found next to nothing to ship"
    missing = sorted(wanted - shipped)
    assert not missing, f"pyproject.toml's packages and package-data leave out: {missing}"


def test_the_proxy_example_forwards_what_the_app_trusts() -> None:
    conf = re.sub(r"#[^\n]*", "", NGINX_CONF.read_text())
    locations = re.findall(r"location\s+(=\s+)?(\S+)\s*\{([^}]*)\}", conf)
    assert locations
    server = re.sub(r"location\s+[^{]*\{[^}]*\}", "", conf)
    for header, value in (
        ("Host", "$host"),  # the monitor socket compares Origin with it
        ("X-Forwarded-Proto", "$scheme"),
        ("X-Forwarded-Host", "$host"),
        ("Upgrade", "$http_upgrade"),
        ("Connection", "$connection_upgrade"),
    ):
        assert re.search(rf"proxy_set_header\s+{header}\s+\{value}\s*;", server), header
    for _, path, block in locations:
        # nginx inherits proxy_set_header only into blocks that set none of their own.
        assert "proxy_set_header" not in block, f"location {path} drops the forwarded headers"
        assert "proxy_pass http://telebridge;" in block, path
    routes = {r.path for r in master_control.routes}  # type: ignore[attr-defined]
    sockets = [(path, block) for exact, path, block in locations if exact]
    assert [path for path, _ in sockets] == ["/ws/monitor"]
    assert all(path in routes for path, _ in sockets), routes
    for _, block in sockets:
        timeout = re.search(r"proxy_read_timeout\s+(\d+)([smh]?)\s*;", block)
        assert timeout, "a WebSocket needs a long proxy_read_timeout"
        assert int(timeout[1]) * {"": 1, "s": 1, "m": 60, "h": 3600}[timeout[2]] >= 300
    size = re.search(r"client_max_body_size\s+(\d+)([kmg]?)\s*;", conf, re.I)
    assert size
    limit = int(size[1]) * {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}[size[2].lower()]
    assert limit >= int(BY_NAME["max_body_bytes"].default), "nginx would refuse before the app"


def _blocks(text: str, head: str) -> list[tuple[str, str]]:
    """(what follows `head`, the block's text) for each `head ... { ... }`, braces matched."""
    out = []
    for m in re.finditer(rf"\b{head}\b([^{{;]*)\{{", text):
        depth, i = 1, m.end()
        while depth:
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            i += 1
        out.append((m[1].strip(), text[m.end() : i - 1]))
    return out


HSTS = re.compile(r'add_header\s+Strict-Transport-Security\s+"max-age=(\d+)[^"]*"\s+always\s*;')


def test_the_proxy_example_tells_browsers_to_come_back_over_https_only() -> None:
    """HSTS on the TLS server, on every answer (`always`), in every location: nginx drops a
    server's add_header in a location that has one of its own."""
    conf = re.sub(r"#[^\n]*", "", NGINX_CONF.read_text())
    tls = [
        block for _, block in _blocks(conf, "server") if re.search(r"listen\s+[^;]*\bssl\b", block)
    ]
    assert tls, "no TLS server block"
    for block in tls:
        own = re.sub(r"location\s+[^{]*\{[^}]*\}", "", block)
        found = HSTS.search(own)
        assert found, "the TLS server sends no Strict-Transport-Security"
        assert int(found[1]) >= 365 * 24 * 3600, "HSTS for less than a year"
        for path, location in _blocks(block, "location"):
            if "add_header" in location:
                assert HSTS.search(location), f"location {path} drops the HSTS header"
