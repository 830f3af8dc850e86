"""STUN/TURN servers for the consoles: TURN REST credentials that expire with the booking.

With `turn_secret` set (coturn's `static-auth-secret`, `use-auth-secret`), every console gets
its own time-limited credentials (the TURN REST scheme, draft-uberti-behave-turn-rest): the user
name is `<expiry unix time>:<booking id>.<studio id>` and the password is
base64(HMAC-SHA1(secret, user name)). coturn recomputes the password from the user name and
refuses it once the time has passed, so a credential works for one booking's studio until the
booking's join window closes (its end plus the join grace), and changing the booking in the
user name breaks the password. Without a secret, the static `turn_username`/`turn_password`
are handed out as before.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from schedules.model import Booking
from schedules.rules.timeline import join_window
from web.settings import Settings

_URL = re.compile(
    r"^(?P<scheme>stuns?|turns?):(?P<host>\[[0-9a-fA-F:.]+\]|[^?:\[\]\s/@]+)(?::(?P<port>\d+))?"
    r"(?:\?transport=(?P<transport>udp|tcp))?$"
)
DEFAULT_PORTS = {"stun": 3478, "turn": 3478, "stuns": 5349, "turns": 5349}


@dataclass(frozen=True)
class IceUrl:
    """A STUN or TURN URL taken apart (RFC 7064, RFC 7065)."""

    url: str
    scheme: str  # stun, stuns, turn, turns
    host: str
    port: int
    transport: str  # udp or tcp

    @property
    def is_turn(self) -> bool:
        return self.scheme in ("turn", "turns")


def parse_ice_url(url: str) -> IceUrl:
    """Take a STUN/TURN URL apart; ValueError when it is not one."""
    m = _URL.match(url.strip())
    if m is None:
        raise ValueError(f"not a STUN/TURN URL: {url!r}")
    scheme = m["scheme"]
    secure = scheme.endswith("s")
    transport = m["transport"] or ("tcp" if secure else "udp")
    if secure and transport != "tcp":
        raise ValueError(f"{scheme}: runs over TLS, so over TCP only: {url!r}")
    if scheme.startswith("stun") and m["transport"]:
        raise ValueError(f"a STUN URL takes no transport: {url!r}")
    return IceUrl(
        url=url.strip(),
        scheme=scheme,
        host=m["host"].strip("[]"),
        port=int(m["port"]) if m["port"] else DEFAULT_PORTS[scheme],
        transport=transport,
    )


def rest_credentials(secret: str, user: str, expires_at: datetime) -> tuple[str, str]:
    """TURN REST (coturn `use-auth-secret`) user name and password valid until `expires_at`."""
    username = f"{int(expires_at.timestamp())}:{user}"
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return username, base64.b64encode(digest).decode("ascii")


def console_user(booking_id: str, studio_id: str) -> str:
    """Who a console's TURN credentials are for (shows in coturn's log)."""
    return f"{booking_id}.{studio_id}"


def credentials_expire(booking: Booking, grace_minutes: int) -> datetime:
    """When a console's TURN credentials stop working: when its join link closes."""
    return join_window(booking, grace_minutes).valid_until


def console_ice_servers(
    settings: Settings, booking: Booking, studio_id: str
) -> list[dict[str, Any]]:
    """The `iceServers` of one studio's console, with credentials of its own for TURN.

    Only for a holder of a valid join token: the caller checks it.
    """
    servers: list[dict[str, Any]] = []
    username = credential = ""
    if settings.turn_secret:
        username, credential = rest_credentials(
            settings.turn_secret,
            console_user(booking.id, studio_id),
            credentials_expire(booking, settings.join_grace_minutes),
        )
    elif settings.turn_username:
        username, credential = settings.turn_username, settings.turn_password
    for url in settings.ice_server_urls:
        entry: dict[str, Any] = {"urls": url}
        if url.startswith(("turn:", "turns:")) and username:
            entry["username"] = username
            entry["credential"] = credential
        servers.append(entry)
    return servers


def check_credentials(settings: Settings, now: datetime) -> tuple[str, str]:
    """Credentials for `telebridge check` to try each TURN server with (valid two minutes)."""
    if settings.turn_secret:
        return rest_credentials(
            settings.turn_secret, "telebridge-check", now + timedelta(minutes=2)
        )
    return settings.turn_username, settings.turn_password
