"""docker-compose.yml agrees with the code: its services, variables, ports, volumes and health
checks against the settings table, and coturn's config against the app's TURN secret."""

from __future__ import annotations

import asyncio
import ipaddress
import re
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

import pytest
from aiohttp import web
from deployment_files import (
    BY_ENV,
    BY_NAME,
    DEPLOYMENT_DEFAULTS,
    ENV_OF,
    LOOPBACK,
    MUST_SET,
    NGINX_CONF,
    REQUIRED_FROM_OPERATOR,
    ROOT,
    TURN_CONF,
    address_range,
    app_env,
    app_settings,
    compose,
    docker_env,
    dockerfile,
    env_example,
    environment,
    interpolate,
    operator_env,
    pass_through,
    port_of,
    refs,
    service,
    strings,
    turn_conf,
    volume_mounts,
)

from web.app import install_services
from web.services import ENGINE, RECORDINGS
from web.settings import SETTINGS, Settings


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
    root = asyncio.run(_recordings_root(tmp_path))
    recordings = data_dir / PurePosixPath(root.relative_to(tmp_path).as_posix())
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
    # ... and owner-only (keys, database, recordings), as the app makes them (web/data_dir.py).
    private = {p for args in re.findall(r"chmod\s+0?700((?:\s+/\S+)+)", made) for p in args.split()}
    assert {str(data_dir), str(recordings)} <= private, made


async def _recordings_root(data_dir: Path) -> Path:
    app = web.Application()
    install_services(app, Settings.load({}, data_dir=data_dir))
    try:
        return app[RECORDINGS].root
    finally:
        await app[ENGINE].dispose()


def test_every_service_has_a_health_check() -> None:
    for name, svc in compose()["services"].items():
        test = svc.get("healthcheck", {}).get("test")
        assert test and test[0] in ("CMD", "CMD-SHELL"), f"{name} has no health check"
    assert "pg_isready" in " ".join(service("postgres")["healthcheck"]["test"])
    probe = " ".join(service("coturn")["healthcheck"]["test"])
    assert f"/{turn_conf().get('listening-port', ['3478'])[0]}" in probe, probe


def _argv(value: str | list[str] | None) -> list[str]:
    """A compose `entrypoint` or `command`, in either form, as its words."""
    return value.split() if isinstance(value, str) else [str(v) for v in value or []]


def test_coturn_and_the_app_share_the_turn_secret_kept_off_coturns_command_line() -> None:
    app_ref = pass_through(BY_NAME["turn_secret"].env)
    assert app_ref is not None and app_ref.required
    coturn = service("coturn")
    # Every user of the host may read a process's command line (`ps`): the secret is not on it.
    argv = _argv(coturn.get("entrypoint")) + _argv(coturn.get("command"))
    assert not [a for a in argv if refs(a) or "secret" in a.lower()], argv
    env = environment(coturn)
    assert env["TURN_SECRET"] == f"${{{app_ref.name}{app_ref.op}{app_ref.arg}}}"
    # Our entrypoint writes it into coturn's config (tests/turn_server.py starts coturn with
    # the same script), which comes from deploy/, and its copy with the secret goes to a tmpfs.
    mounts = volume_mounts(coturn)
    scripts = [a for a in argv if a.endswith(".sh")]
    assert [mounts.get(s) for s in scripts] == ["./deploy/coturn-entrypoint.sh"], argv
    assert mounts.get(env["TURN_CONFIG"]) == "./deploy/turnserver.conf"
    assert mounts.get(env["TURN_RUN_DIR"]) == "tmpfs", "the secret's copy must not land on disk"
    conf = turn_conf()
    assert "use-auth-secret" in conf, "coturn must check the app's TURN REST credentials"
    for literal in ("static-auth-secret", "lt-cred-mech", "user", "userdb"):
        assert literal not in conf, f"{literal} in turnserver.conf: the secret comes from .env"


# What no relay may reach: this host's and its network's private services (README,
# deploy/turnserver.conf). tests/web/test_turn_coturn.py tries them on a real coturn.
NEVER_RELAYED = [
    "0.0.0.0/8",
    "10.0.0.0/8",
    "100.64.0.0/10",
    "127.0.0.0/8",
    "169.254.0.0/16",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "::1/128",
    "::ffff:0:0/96",  # IPv4 in IPv6 form
    "64:ff9b::/96",  # IPv4 through NAT64
    "fc00::/7",
    "fe80::/10",
]


def test_coturn_relays_to_no_private_network_and_no_tcp() -> None:
    conf = turn_conf()
    denied = [address_range(v) for v in conf.get("denied-peer-ip", [])]
    for first, _ in denied:
        # coturn holds a range from the unspecified address against both families.
        assert not first.is_unspecified, f"a denied range starts at {first}"
    for network in map(ipaddress.ip_network, NEVER_RELAYED):
        # coturn refuses the unspecified address by itself.
        first = network[1] if network[0].is_unspecified else network[0]
        assert any(
            lo.version == first.version and lo <= first and network[-1] <= hi  # type: ignore[operator]
            for lo, hi in denied
        ), f"deploy/turnserver.conf relays to {network}"
    # The Telebridge host's own address is each site's own: documented, not set.
    assert "allowed-peer-ip" not in conf
    assert "allowed-peer-ip" in TURN_CONF.read_text()
    assert "allow-loopback-peers" not in conf
    assert {"no-multicast-peers", "no-tcp-relay"} <= set(conf)


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
