"""Reading the deployment files for the tests: docker-compose.yml, the Dockerfile, deploy/.

No container engine runs here, so the tests (test_compose_file.py, test_image_and_proxy.py)
read the files and hold them against the settings table (web/settings.py), pyproject.toml and
the app's routes.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

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

# Settings a deployment cannot leave at their defaults.
MUST_SET = ["database_url", "secret", "public_url", "trust_proxy", "turn_secret"]
# ... of which these are the operator's own values: compose refuses to start without them.
REQUIRED_FROM_OPERATOR = ["secret", "public_url", "turn_secret"]
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


IP = ipaddress.IPv4Address | ipaddress.IPv6Address


def address_range(value: str) -> tuple[IP, IP]:
    """A coturn address range (`first-last` or one address) as its first and last address."""
    first, _, last = value.partition("-")
    return ipaddress.ip_address(first.strip()), ipaddress.ip_address((last or first).strip())


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
