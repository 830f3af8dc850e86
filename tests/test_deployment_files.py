"""The deployment files agree with the code: docker-compose.yml, the Dockerfile and deploy/.

No container engine runs here, so these tests read the files: the compose file's services,
variables, ports, volumes and health checks against the settings table (web/settings.py), the
Dockerfile against pyproject.toml, coturn's config against the app's TURN secret, and the
nginx example against the app's port and routes. The health checks themselves are run against
the real app.
"""

from __future__ import annotations

import asyncio
import re
import sys
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from aiohttp.test_utils import unused_port

from bridge.compositor import FONT_CANDIDATES
from web import api_live
from web.app import build_state, make_app
from web.settings import SETTINGS, Settings

ROOT = Path(__file__).resolve().parents[1]
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
TURN_CONF = ROOT / "deploy" / "turnserver.conf"
NGINX_CONF = ROOT / "deploy" / "nginx.conf"
ENV_EXAMPLE = ROOT / "deploy" / "env.example"

BY_ENV = {s.env: s for s in SETTINGS}
BY_NAME = {s.name: s for s in SETTINGS}
ENV_OF = {s.name: s.env for s in SETTINGS}

# Settings a deployment cannot leave at their defaults; the TURN secret once the setting exists.
MUST_SET = ["database_url", "secret", "public_url", "trust_proxy"] + (
    ["turn_secret"] if "turn_secret" in BY_NAME else []
)
# ... of which these are the operator's own values: compose refuses to start without them.
REQUIRED_FROM_OPERATOR = ["secret", "public_url"] + (
    ["turn_secret"] if "turn_secret" in BY_NAME else []
)
# Pass-through defaults that differ from the settings table on purpose, and why.
DEPLOYMENT_DEFAULTS = {
    "trust_proxy": "true",  # the app sits behind the reverse proxy (deploy/nginx.conf)
}
LOOPBACK = ("127.0.0.1", "localhost", "::1")
# Debian packages and where they put the fonts the compositor looks for.
FONT_PACKAGES = {"fonts-dejavu-core": "/usr/share/fonts/truetype/dejavu/"}


# --- reading the files -------------------------------------------------------------------

# ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?message}, ${NAME?message}; not $${...}.
_REF = re.compile(r"(?<!\$)\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}")


@dataclass(frozen=True)
class Ref:
    name: str
    op: str  # "", "-", ":-", "?", ":?"
    arg: str

    @property
    def required(self) -> bool:
        return self.op in ("", "?", ":?")

    @property
    def default(self) -> str | None:
        return self.arg if self.op in ("-", ":-") else None


def refs(text: str) -> list[Ref]:
    return [Ref(m["name"], m["op"] or "", m["arg"] or "") for m in _REF.finditer(text)]


def strings(node: Any) -> Iterator[str]:
    """Every string in a parsed YAML tree, keys included."""
    if isinstance(node, str):
        yield node
    elif isinstance(node, Mapping):
        for key, value in node.items():
            yield from strings(key)
            yield from strings(value)
    elif isinstance(node, list):
        for item in node:
            yield from strings(item)


def interpolate(text: str, env: Mapping[str, str]) -> str:
    """What compose makes of `text` with the variables in `env` (its ${...} rules)."""

    def one(m: re.Match[str]) -> str:
        ref = Ref(m["name"], m["op"] or "", m["arg"] or "")
        value = env.get(ref.name)
        if ref.op in (":?", "?") and (value is None or (ref.op == ":?" and value == "")):
            raise AssertionError(f"compose would stop: {ref.name} unset ({ref.arg})")
        if ref.op == ":-" and not value:
            return ref.arg
        if ref.op == "-" and value is None:
            return ref.arg
        return value or ""

    return _REF.sub(one, text).replace("$$", "$")


def compose() -> dict[str, Any]:
    doc = yaml.safe_load(COMPOSE_FILE.read_text())
    assert isinstance(doc, dict)
    return doc


def service(name: str) -> dict[str, Any]:
    services = compose()["services"]
    assert name in services, f"docker-compose.yml has no {name!r} service"
    svc: dict[str, Any] = services[name]
    return svc


def environment(svc: dict[str, Any]) -> dict[str, str]:
    env = svc.get("environment", {})
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {str(k): str(v) for k, v in env.items()}


def app_env() -> dict[str, str]:
    return environment(service("app"))


def dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    out: list[tuple[str, str]] = []
    pending = ""
    for raw in DOCKERFILE.read_text().splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):
            continue
        pending += " " + line.removesuffix("\\").strip()
        if not line.endswith("\\"):
            word, _, rest = pending.strip().partition(" ")
            out.append((word.upper(), rest.strip()))
            pending = ""
    return out


def docker_env() -> dict[str, str]:
    env: dict[str, str] = {}
    for word, rest in dockerfile():
        if word == "ENV":
            env.update(re.findall(r"([A-Za-z_][A-Za-z0-9_]*)=(\S+)", rest))
    return env


def turn_conf() -> dict[str, list[str]]:
    """coturn's options: name to the values given (flags get "")."""
    out: dict[str, list[str]] = {}
    for raw in TURN_CONF.read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if line:
            name, _, value = line.partition("=")
            out.setdefault(name.strip(), []).append(value.strip())
    return out


def env_example() -> dict[str, tuple[str, bool]]:
    """deploy/env.example: name to (value, set), where set is False for a commented line."""
    out: dict[str, tuple[str, bool]] = {}
    for raw in ENV_EXAMPLE.read_text().splitlines():
        m = re.fullmatch(r"(#?)([A-Z_][A-Z0-9_]*)=(.*)", raw.strip())
        if m:
            out[m[2]] = (m[3], not m[1])
    return out


def operator_env() -> dict[str, str]:
    """A filled-in .env as an operator would write it (deploy/env.example plus the secrets)."""
    env = {name: value for name, (value, is_set) in env_example().items() if is_set}
    for name, value in list(env.items()):
        if not value:
            env[name] = f"{name.lower().replace('_', '')}0123456789abcdef"
    return env


def app_settings() -> Settings:
    """The settings the app container starts with, read by the app's own parser."""
    env = {k: interpolate(v, operator_env()) for k, v in app_env().items()}
    return Settings.load(env)


def pass_through(env_name: str) -> Ref | None:
    """The value's reference when it is exactly `${<the same name>...}`, else None."""
    value = app_env()[env_name]
    found = refs(value)
    if len(found) == 1 and value == f"${{{found[0].name}{found[0].op}{found[0].arg}}}":
        assert found[0].name == env_name, f"{env_name} is read from {found[0].name}"
        return found[0]
    return None


def port_of(spec: str) -> tuple[str, int, int, str]:
    """A compose short port syntax entry: (host ip, host port, container port, protocol)."""
    spec, _, proto = spec.partition("/")
    parts = spec.rsplit(":", 2)
    ip = parts[0] if len(parts) == 3 else ""
    host = parts[-2] if len(parts) >= 2 else parts[-1]
    return ip, int(host), int(parts[-1]), proto or "tcp"


def volume_mounts(svc: dict[str, Any]) -> dict[str, str]:
    """Target path in the container to source (a named volume, a host path or "tmpfs")."""
    out: dict[str, str] = {}
    for v in svc.get("volumes", []):
        if isinstance(v, str):
            source, target = v.split(":")[:2]
        else:
            source, target = v.get("source", v["type"]), v["target"]
        out[target] = source
    return out


# --- the compose file --------------------------------------------------------------------


def test_compose_has_the_app_postgresql_and_coturn() -> None:
    services = compose()["services"]
    assert {"app", "postgres", "coturn"} <= set(services)
    assert services["app"].get("build") in (".", {"context": "."}), "the app is built here"
    assert re.fullmatch(r"postgres:1[5-7](\.\d+)?(-\w+)?", services["postgres"]["image"])
    assert re.fullmatch(r"coturn/coturn:\d[\w.-]*", services["coturn"]["image"]), (
        "pin coturn's version"
    )
    for name, svc in services.items():
        assert svc.get("restart") in ("unless-stopped", "always"), f"{name} must come back"


def test_the_app_sets_only_real_settings_and_passes_every_one() -> None:
    env = app_env()
    unknown = sorted(set(env) - set(BY_ENV))
    assert not unknown, f"not in web/settings.py's SETTINGS: {unknown}"
    missing = sorted(set(BY_ENV) - set(env))
    assert not missing, (
        f"settings the compose app does not pass through: {missing}; add "
        "`NAME: ${NAME:-<default>}` lines to docker-compose.yml"
    )


def test_pass_through_defaults_are_the_settings_defaults() -> None:
    checked = 0
    for name, env_name in ENV_OF.items():
        ref = pass_through(env_name)
        if ref is None or ref.default is None:
            continue
        checked += 1
        want = DEPLOYMENT_DEFAULTS.get(name, BY_NAME[name].default)
        assert ref.default == want, f"{env_name} defaults to {ref.default!r}, not {want!r}"
    assert checked >= len(SETTINGS) // 2, "most settings should pass through with a default"


def test_a_deployment_sets_what_it_must() -> None:
    env = app_env()
    for name in MUST_SET:
        assert ENV_OF[name] in env, f"the app must be given {ENV_OF[name]}"
    for name in REQUIRED_FROM_OPERATOR:
        ref = pass_through(ENV_OF[name])
        assert ref is not None, f"{ENV_OF[name]} must come from the operator's .env"
        assert ref.op == ":?" and ref.arg.strip(), (
            f"{ENV_OF[name]} must be ${{{ENV_OF[name]}:?<why>}}: an empty one must stop compose"
        )
    settings = app_settings()  # the app's own parser accepts every value
    assert settings.database.startswith("postgresql")
    assert settings.trust_proxy == "true"
    assert settings.public_url.startswith("https://")
    assert str(settings.data_dir) == env["TELEBRIDGE_DATA_DIR"]


def test_trusting_the_proxy_goes_with_a_listener_only_the_proxy_reaches() -> None:
    settings = app_settings()
    app = service("app")
    if settings.trust_proxy == "true":
        # Anyone who reaches the app directly could forge X-Forwarded-* headers.
        assert settings.host in LOOPBACK, (
            f"TRUST_PROXY=true needs a loopback listener, not {settings.host}"
        )
        for spec in app.get("ports", []):
            assert port_of(str(spec))[0] in LOOPBACK, f"app port {spec} is public"


@pytest.mark.parametrize(
    "overrides",
    [{}, {"POSTGRES_USER": "tbuser", "POSTGRES_DB": "tbdb", "POSTGRES_PORT": "15432"}],
    ids=["defaults", "overridden"],
)
def test_the_database_url_points_at_the_postgres_service(overrides: dict[str, str]) -> None:
    app, pg = service("app"), service("postgres")
    assert app["depends_on"]["postgres"]["condition"] == "service_healthy"
    env = {**operator_env(), **overrides}
    app_values = {k: interpolate(v, env) for k, v in app_env().items()}
    url = urlsplit(Settings.load(app_values).database_url)
    pg_env = {k: interpolate(v, env) for k, v in environment(pg).items()}
    published = [port_of(interpolate(str(p), env)) for p in pg.get("ports", [])]
    assert url.scheme in ("postgresql", "postgresql+asyncpg")
    assert (url.username, url.password) == (pg_env["POSTGRES_USER"], pg_env["POSTGRES_PASSWORD"])
    assert url.path == "/" + pg_env["POSTGRES_DB"]
    assert url.password == env["POSTGRES_PASSWORD"]
    if app.get("network_mode") == "host":
        # The app is on the host's network: it reaches PostgreSQL where compose publishes it.
        assert url.hostname in LOOPBACK
        assert (url.hostname, url.port or 5432, 5432, "tcp") in published, published
    else:
        assert (url.hostname, url.port or 5432) == ("postgres", 5432)
    for ip, _, _, _ in published:
        assert ip in LOOPBACK, "PostgreSQL must not listen on a public address"


def test_ports_agree_with_the_settings_the_dockerfile_and_the_proxy() -> None:
    port = int(BY_NAME["port"].default)
    ref = pass_through("TELEBRIDGE_PORT")
    composed = int(ref.default if ref and ref.default else app_env()["TELEBRIDGE_PORT"])
    exposed = [
        int(p.split("/")[0]) for w, rest in dockerfile() if w == "EXPOSE" for p in rest.split()
    ]
    upstream = re.findall(r"^\s*server\s+([\w.:\[\]]+):(\d+)\s*;", NGINX_CONF.read_text(), re.M)
    assert composed == port
    assert exposed == [port]
    assert int(docker_env()["TELEBRIDGE_PORT"]) == port
    assert [(h, int(p)) for h, p in upstream] == [(app_settings().host, port)], upstream
    app = service("app")
    if app.get("network_mode") == "host":
        assert "ports" not in app, "published ports mean nothing with host networking"
    else:
        assert [port_of(str(p))[2] for p in app["ports"]] == [port]


def test_coturn_ports_agree_with_its_config_and_the_ice_urls() -> None:
    conf = turn_conf()
    plain = int(conf.get("listening-port", ["3478"])[0])
    tls = int(conf.get("tls-listening-port", ["5349"])[0])
    low, high = int(conf["min-port"][0]), int(conf["max-port"][0])
    assert (plain, tls) == (3478, 5349)
    assert 1024 < low < high <= 65535
    coturn = service("coturn")
    if coturn.get("network_mode") != "host":
        published = {(port_of(str(p))[2], port_of(str(p))[3]) for p in coturn.get("ports", [])}
        want = {(plain, "udp"), (plain, "tcp"), (tls, "tcp")}
        assert want <= published, f"coturn publishes {published}, needs {want}"
        ranges = [str(p) for p in coturn.get("ports", []) if f"{low}-{high}" in str(p)]
        assert ranges, f"the relay range {low}-{high}/udp is not published"
    ice = operator_env()["TELEBRIDGE_ICE_SERVERS"].split(",")
    seen = set()
    for url in ice:
        m = re.fullmatch(r"(stuns?|turns?):([^:?]+):(\d+)(?:\?transport=(udp|tcp))?", url.strip())
        assert m, f"not a STUN/TURN URL with a port: {url!r}"
        want_port = tls if m[1] in ("turns", "stuns") else plain
        assert int(m[3]) == want_port, f"{url} should use port {want_port}"
        seen.add(m[1])
    assert {"stun", "turn", "turns"} <= seen, ice


def test_volumes_hold_the_data_dir_and_the_recordings(tmp_path: Path) -> None:
    data_dir = PurePosixPath(app_env()["TELEBRIDGE_DATA_DIR"])
    assert data_dir.is_absolute()
    assert str(data_dir) == docker_env()["TELEBRIDGE_DATA_DIR"]
    # Where the app really writes recordings, relative to its data dir.
    st = asyncio.run(_recordings_root(tmp_path))
    recordings = data_dir / PurePosixPath(st.relative_to(tmp_path).as_posix())
    mounts = volume_mounts(service("app"))
    named = set(compose().get("volumes") or {})
    assert mounts.get(str(data_dir)) in named, f"no named volume at {data_dir}: {mounts}"
    assert mounts.get(str(recordings)) in named, f"no volume at {recordings}: {mounts}"
    assert mounts[str(data_dir)] != mounts[str(recordings)]
    pg_mounts = volume_mounts(service("postgres"))
    assert pg_mounts.get("/var/lib/postgresql/data") in named, pg_mounts
    # The image makes both directories for its user, so new volumes start with that owner.
    volumes = " ".join(rest for w, rest in dockerfile() if w == "VOLUME")
    assert f'"{data_dir}"' in volumes
    made = " ".join(rest for w, rest in dockerfile() if w == "RUN")
    assert f"mkdir -p {recordings}" in made and f"chown -R telebridge:telebridge {data_dir}" in made


async def _recordings_root(data_dir: Path) -> Path:
    st = await build_state(Settings.load({}, data_dir=data_dir))
    try:
        return st.recordings.root
    finally:
        await st.engine.dispose()


def test_every_service_has_a_health_check() -> None:
    for name, svc in compose()["services"].items():
        test = svc.get("healthcheck", {}).get("test")
        assert test and test[0] in ("CMD", "CMD-SHELL"), f"{name} has no health check"
    assert "pg_isready" in " ".join(service("postgres")["healthcheck"]["test"])
    probe = " ".join(service("coturn")["healthcheck"]["test"])
    assert f"/{turn_conf().get('listening-port', ['3478'])[0]}" in probe, probe


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


def test_coturn_and_the_app_share_the_turn_secret() -> None:
    if "turn_secret" not in BY_NAME:
        pytest.skip("no TURN secret setting yet (web/settings.py)")
    app_ref = pass_through(BY_NAME["turn_secret"].env)
    assert app_ref is not None and app_ref.required
    coturn = service("coturn")
    command = coturn.get("command", [])
    command = command.split() if isinstance(command, str) else command
    secrets = [c for c in command if c.startswith("--static-auth-secret=")]
    assert len(secrets) == 1, command
    assert [r.name for r in refs(secrets[0])] == [app_ref.name], secrets
    assert secrets[0] == f"--static-auth-secret=${{{app_ref.name}{app_ref.op}{app_ref.arg}}}"
    conf = turn_conf()
    assert "use-auth-secret" in conf, "coturn must check the app's TURN REST credentials"
    for literal in ("static-auth-secret", "lt-cred-mech", "user", "userdb"):
        assert literal not in conf, f"{literal} in turnserver.conf: the secret comes from .env"
    config_at = command[command.index("-c") + 1]
    assert volume_mounts(coturn).get(config_at) == "./deploy/turnserver.conf"


def test_a_variable_means_the_same_everywhere_and_is_documented() -> None:
    doc = compose()
    found: dict[str, set[tuple[str, str]]] = {}
    for text in strings(doc):
        for ref in refs(text):
            found.setdefault(ref.name, set()).add((ref.op, ref.arg))
    assert found
    example = env_example()
    for name, uses in sorted(found.items()):
        kinds = {(op, arg if op in ("-", ":-") else "") for op, arg in uses}
        assert len(kinds) == 1, f"{name} has different defaults or rules in places: {uses}"
        op, arg = next(iter(uses))
        if name not in example and op in ("-", ":-") and name in BY_ENV:
            # An optional setting at the default its README row gives needs no more words.
            assert arg == BY_ENV[name].default, f"{name}'s default: list it in env.example"
            continue
        assert name in example, f"{name} is not in deploy/env.example"
        value, is_set = example[name]
        if op in ("", "?", ":?"):
            assert is_set, f"{name} is required: deploy/env.example must list it uncommented"
            assert op == "" or arg.strip(), f"{name}: say why in ${{{name}:?...}}"
        else:
            assert value == arg, f"deploy/env.example says {name}={value}, compose {arg!r}"
    readme = (ROOT / "README.md").read_text()
    section = re.search(r"^## Deployment\n(.*?)(?=^## |\Z)", readme, re.M | re.S)
    if section:  # the README's deployment section names every required variable
        for name, uses in found.items():
            if any(op in ("", "?", ":?") for op, _ in uses):
                assert name in section[1], f"README's Deployment section omits {name}"


def test_the_dockerfile_installs_the_package_as_a_non_root_user() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    steps = dockerfile()
    copied = {
        PurePosixPath(src).parts[0]
        for w, rest in steps
        if w == "COPY" and not rest.startswith("--from")
        for src in rest.split()[:-1]
    }
    packages = set(pyproject["tool"]["setuptools"]["packages"])
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
    routes = {r.path for r in api_live.routes}  # type: ignore[attr-defined]
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
