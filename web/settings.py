"""The settings table: every knob with its default, environment variable and help."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path

from schedules.timeutil import known_zone

# What TELEBRIDGE_STORAGE_URL and the endpoints look like (web/storage/objects.py reads them).
_STORE_URL = re.compile(r"s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/[^?#\\]*)?")
_ENDPOINT = re.compile(r"https?://[^/?#\s]+/?")
_NODE_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")


@dataclass(frozen=True)
class Setting:
    """One row of the settings table (the README lists them all; a test checks it)."""

    name: str
    default: str
    env: str
    help: str


SETTINGS: tuple[Setting, ...] = (
    Setting("host", "127.0.0.1", "TELEBRIDGE_HOST", "Address the HTTP server listens on."),
    Setting("port", "8080", "TELEBRIDGE_PORT", "Port the HTTP server listens on."),
    Setting(
        "data_dir",
        "./data",
        "TELEBRIDGE_DATA_DIR",
        "Directory for the SQLite database, the generated secret and recordings.",
    ),
    Setting(
        "database_url",
        "",
        "TELEBRIDGE_DATABASE_URL",
        "SQLAlchemy URL; empty means SQLite at DATA_DIR/telebridge.sqlite3. "
        "`postgresql://user:pass@host/db` selects PostgreSQL.",
    ),
    Setting(
        "secret",
        "",
        "TELEBRIDGE_SECRET",
        "Key that signs join links, calendar feeds and CSRF tokens; generated and kept in "
        "DATA_DIR/secret.key when empty.",
    ),
    Setting(
        "public_url",
        "",
        "TELEBRIDGE_PUBLIC_URL",
        "Base URL used in join links and calendar feeds (e.g. https://bridge.example.org); "
        "empty means the URL the request came in on.",
    ),
    Setting(
        "max_body_bytes",
        "1048576",
        "TELEBRIDGE_MAX_BODY_BYTES",
        "Largest accepted request body; larger ones get 413.",
    ),
    Setting("session_hours", "12", "TELEBRIDGE_SESSION_HOURS", "How long a login session lasts."),
    Setting(
        "login_attempts",
        "5",
        "TELEBRIDGE_LOGIN_ATTEMPTS",
        (
            "Failed logins of one user name from one client address before each further attempt"
            " of that pair waits 1, 2, 4 ... up to 60 s (429 with Retry-After); also how many"
            " different names one address may fail on in the window below."
        ),
    ),
    Setting(
        "login_window_seconds",
        "300",
        "TELEBRIDGE_LOGIN_WINDOW_SECONDS",
        (
            "Window of the login limit: a name and address pair is forgotten this long after its"
            " last failure, and an address's failed names count within it."
        ),
    ),
    Setting(
        "join_grace_minutes",
        "10",
        "TELEBRIDGE_JOIN_GRACE_MINUTES",
        "Minutes after a booking's teardown during which its join links (and its room) still work.",
    ),
    Setting(
        "ice_servers",
        "",
        "TELEBRIDGE_ICE_SERVERS",
        "Comma-separated STUN/TURN URLs for the consoles' peer connections, e.g. "
        "`stun:stun.example.org:3478,turn:turn.example.org:3478`; empty on a LAN or loopback. "
        "The server's own peers use the first STUN URL only, never TURN.",
    ),
    Setting(
        "turn_username",
        "",
        "TELEBRIDGE_TURN_USERNAME",
        "User name for the TURN URLs above (static; see `turn_secret` for per-console ones).",
    ),
    Setting(
        "turn_password",
        "",
        "TELEBRIDGE_TURN_PASSWORD",
        "Password for the TURN URLs above.",
    ),
    Setting(
        "turn_secret",
        "",
        "TELEBRIDGE_TURN_SECRET",
        "Shared secret of the TURN server (coturn's `static-auth-secret` with `use-auth-secret`): "
        "each console then gets its own TURN credentials, valid until its booking's join link "
        "closes; replaces the user name and password above.",
    ),
    Setting(
        "trust_proxy",
        "false",
        "TELEBRIDGE_TRUST_PROXY",
        "`true` behind a reverse proxy: take the scheme and host of links and cookies from its "
        "X-Forwarded-Proto and X-Forwarded-Host headers (never set it without such a proxy).",
    ),
    Setting(
        "secure_cookies",
        "auto",
        "TELEBRIDGE_SECURE_COOKIES",
        (
            "`auto` marks cookies Secure when the request came over HTTPS; `true` or `false`"
            " force it. Secure session and CSRF cookies are named with the `__Host-` prefix"
            " (`__Host-tb_session`, `__Host-tb_anon`) and read only under that name."
        ),
    ),
    Setting(
        "log_format",
        "text",
        "TELEBRIDGE_LOG_FORMAT",
        "`text` (one event per line) or `json` (one JSON object per line, with booking and "
        "studio ids as fields) on stderr.",
    ),
    Setting(
        "password_cost",
        "17",
        "TELEBRIDGE_PASSWORD_COST",
        "scrypt's work factor for login passwords, as a power of two (N = 2^cost, r = 8): 17 "
        "takes 128 MiB and most of a second of one core per check. 14 to 18; lower it only for "
        "tests. A stored hash with another factor still verifies and is remade at its next "
        "login.",
    ),
    Setting(
        "embed_ancestors",
        "*",
        "TELEBRIDGE_EMBED_ANCESTORS",
        "Sites that may show a broadcast's player (`/embed/{booking}`) in an `<iframe>`: "
        "space-separated origins such as `https://dhapress.com https://turkic.world`, `*` for "
        "any site, or `'none'`. The other pages may never be framed.",
    ),
    Setting(
        "timezone",
        "UTC",
        "TELEBRIDGE_TIMEZONE",
        "IANA zone (e.g. `Asia/Baku`) the pages show times in for a login that has not picked "
        "its own from the menu; an operator's pages default to its studio's zone instead.",
    ),
    Setting(
        "storage_url",
        "",
        "TELEBRIDGE_STORAGE_URL",
        "`s3://bucket/prefix`: recordings go to this bucket of an S3-compatible store (the "
        "segments of a show as they close, its finished files once it ends, each verified "
        "against its SHA-256 before the local copy is removed) and the archive serves them "
        "from there; empty keeps them on this server's disk (DATA_DIR/recordings).",
    ),
    Setting(
        "storage_endpoint",
        "",
        "TELEBRIDGE_STORAGE_ENDPOINT",
        "The store's S3 endpoint as this server reaches it, e.g. `http://127.0.0.1:8333` "
        "(SeaweedFS) or `http://127.0.0.1:9000` (MinIO), addressed path-style; empty means "
        "AWS, `https://s3.<region>.amazonaws.com`.",
    ),
    Setting(
        "storage_public_endpoint",
        "",
        "TELEBRIDGE_STORAGE_PUBLIC_ENDPOINT",
        "The same endpoint as browsers reach it (e.g. `https://media.example.org`), for the "
        "presigned links the archive redirects players and downloads to; empty means "
        "`storage_endpoint`.",
    ),
    Setting(
        "storage_region",
        "us-east-1",
        "TELEBRIDGE_STORAGE_REGION",
        "Region the store's requests are signed for (AWS Signature V4); SeaweedFS and MinIO "
        "take `us-east-1`.",
    ),
    Setting(
        "storage_access_key",
        "",
        "TELEBRIDGE_STORAGE_ACCESS_KEY",
        "Access key id for the store (needed with `storage_url`).",
    ),
    Setting(
        "storage_secret_key",
        "",
        "TELEBRIDGE_STORAGE_SECRET_KEY",
        "Secret key for the store (needed with `storage_url`); never logged or shown.",
    ),
    Setting(
        "storage_link_seconds",
        "3600",
        "TELEBRIDGE_STORAGE_LINK_SECONDS",
        "How long a presigned link to a stored recording file works, 60 to 604800 s: a player "
        "seeks with the link it was redirected to, so it should outlast a viewing. The "
        "redirect itself is never cached.",
    ),
    Setting(
        "node_url",
        "",
        "TELEBRIDGE_NODE_URL",
        "This server's own address as the other nodes of a cluster reach it (e.g. "
        "`http://10.0.0.5:8080`). Set on every node that shares one PostgreSQL: the nodes then "
        "place each room on one of them and hand a studio's signalling to its room's node. "
        "Empty runs this server alone (the default).",
    ),
    Setting(
        "node_id",
        "",
        "TELEBRIDGE_NODE_ID",
        "This node's name in the cluster, unique and kept across restarts; empty means the "
        "host and port of `node_url`.",
    ),
    Setting(
        "node_capacity",
        "8",
        "TELEBRIDGE_NODE_CAPACITY",
        "Rooms this node takes at most; rooms go to the node with the lowest share of its "
        "capacity in use.",
    ),
)


@dataclass(frozen=True)
class Settings:
    """The values in force, read from defaults, the environment and command-line flags."""

    host: str = "127.0.0.1"
    port: int = 8080
    data_dir: Path = Path("./data")
    database_url: str = ""
    secret: str = ""
    public_url: str = ""
    max_body_bytes: int = 1048576
    session_hours: int = 12
    login_attempts: int = 5
    login_window_seconds: int = 300
    join_grace_minutes: int = 10
    ice_servers: str = ""
    turn_username: str = ""
    turn_password: str = ""
    turn_secret: str = ""
    trust_proxy: str = "false"
    secure_cookies: str = "auto"
    log_format: str = "text"
    password_cost: int = 17
    embed_ancestors: str = "*"
    timezone: str = "UTC"
    storage_url: str = ""
    storage_endpoint: str = ""
    storage_public_endpoint: str = ""
    storage_region: str = "us-east-1"
    storage_access_key: str = ""
    storage_secret_key: str = ""
    storage_link_seconds: int = 3600
    node_url: str = ""
    node_id: str = ""
    node_capacity: int = 8

    @classmethod
    def load(cls, environ: Mapping[str, str] | None = None, **overrides: object) -> Settings:
        """Defaults, then the environment, then explicit overrides (flags), each typed."""
        env = os.environ if environ is None else environ
        values: dict[str, object] = {}
        types = {f.name: f.type for f in fields(cls)}
        for row in SETTINGS:
            raw: object = env.get(row.env, row.default)
            if row.name in overrides and overrides[row.name] is not None:
                raw = overrides[row.name]
            values[row.name] = _typed(row, types[row.name], raw)
        return cls(**values)  # type: ignore[arg-type]

    @property
    def ice_server_urls(self) -> list[str]:
        """The STUN/TURN URLs in force."""
        return [u.strip() for u in self.ice_servers.split(",") if u.strip()]

    @property
    def cluster_node_id(self) -> str:
        """This node's name in the cluster (`node_id`, else the host and port of `node_url`)."""
        return self.node_id or self.node_url.split("://", 1)[-1].rstrip("/")[:64]

    @property
    def database(self) -> str:
        """The database URL in force."""
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{self.data_dir / 'telebridge.sqlite3'}"


def _typed(row: Setting, kind: object, raw: object) -> object:
    if kind in ("int", int):
        try:
            number = int(str(raw))
        except ValueError:
            raise SystemExit(f"{row.env} must be a whole number, not {raw!r}") from None
        if row.name == "node_capacity" and not 1 <= number <= 1000:
            raise SystemExit(f"{row.env} must be 1 to 1000, not {raw!r}")
        if row.name == "storage_link_seconds" and not 60 <= number <= 604800:
            raise SystemExit(f"{row.env} must be 60 to 604800 (seven days), not {raw!r}")
        return number
    if kind in ("Path", Path):
        return Path(str(raw))
    if row.name == "secure_cookies" and str(raw) not in ("auto", "true", "false"):
        raise SystemExit(f"{row.env} must be auto, true or false, not {raw!r}")
    if row.name == "password_cost" and not 14 <= int(str(raw)) <= 18:
        raise SystemExit(f"{row.env} must be 14 to 18, not {raw!r}")
    if row.name == "log_format" and str(raw) not in ("text", "json"):
        raise SystemExit(f"{row.env} must be text or json, not {raw!r}")
    if row.name == "trust_proxy" and str(raw) not in ("true", "false"):
        raise SystemExit(f"{row.env} must be true or false, not {raw!r}")
    if row.name == "embed_ancestors" and (
        not str(raw).split() or any(c in str(raw) for c in ";,\r\n")
    ):
        # The value goes into a Content-Security-Policy header as it is: one directive's
        # sources, never a second directive or header.
        raise SystemExit(f"{row.env} must be space-separated origins, `*` or `'none'`, not {raw!r}")
    if row.name == "timezone" and not known_zone(str(raw)):
        raise SystemExit(f"{row.env} must be an IANA zone such as Asia/Baku, not {raw!r}")
    if row.name == "storage_url" and raw and not _STORE_URL.fullmatch(str(raw)):
        raise SystemExit(f"{row.env} must be s3://bucket or s3://bucket/prefix, not {raw!r}")
    if row.name == "node_id" and raw and not _NODE_ID.fullmatch(str(raw)):
        raise SystemExit(
            f"{row.env} must be 1 to 64 letters, digits, '.', '_', '-', ':', not {raw!r}"
        )
    endpoint = row.name in ("storage_endpoint", "storage_public_endpoint", "node_url")
    if endpoint and raw and not _ENDPOINT.fullmatch(str(raw)):
        raise SystemExit(f"{row.env} must be http(s)://host[:port], not {raw!r}")
    return str(raw)
