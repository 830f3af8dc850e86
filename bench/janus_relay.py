"""Janus (Debian's `janus` package, a C SFU) as the relay's yardstick: its process and its API.

`JanusServer` runs /usr/bin/janus with a minimal configuration written into a temporary
folder: the VideoRoom plugin only, the plain HTTP transport on loopback only, no event
handlers, loggers, STUN or TURN, and ICE on the test namespace's veth address only. `JanusClient`
speaks its HTTP API (a session, a long poll for events, plugin handles) so that aiortc peers
can publish to and subscribe from a videoroom. `bench/rooms_per_node.py` uses both.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import aiohttp

JANUS = Path("/usr/bin/janus")
JANUS_LIBS = Path("/usr/lib/x86_64-linux-gnu/janus")
PLUGIN = "janus.plugin.videoroom"
KEEP_PLUGINS = {"libjanus_videoroom.so"}
KEEP_TRANSPORTS = {"libjanus_http.so"}
START_TIMEOUT_S = 15.0
REQUEST_TIMEOUT_S = 20.0


def janus_installed() -> bool:
    """Whether Debian's janus is on this machine (`apt-get install -y janus`)."""
    return JANUS.exists() and (JANUS_LIBS / "plugins" / "libjanus_videoroom.so").exists()


def _others(folder: str, keep: set[str]) -> str:
    """Every module of a Janus folder but `keep`, as a `disable` list."""
    names = sorted(p.name for p in (JANUS_LIBS / folder).glob("libjanus_*.so"))
    return ",".join(n for n in names if n not in keep)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class JanusServer:
    """A Janus process for one bench run, configured in `workdir`."""

    def __init__(self, workdir: Path, ice_interface: str = "tb0") -> None:
        self.workdir = workdir
        self.ice_interface = ice_interface
        self.port = _free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The HTTP API's base address."""
        return f"http://127.0.0.1:{self.port}/janus"

    @property
    def pid(self) -> int:
        """The process id (for its CPU time)."""
        assert self.process is not None
        return self.process.pid

    @property
    def log(self) -> Path:
        """Janus's own log file."""
        return self.workdir / "janus.log"

    def _write_config(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        (self.workdir / "janus.jcfg").write_text(
            f"""general: {{
    configs_folder = "{self.workdir}"
    plugins_folder = "{JANUS_LIBS}/plugins"
    transports_folder = "{JANUS_LIBS}/transports"
    events_folder = "{JANUS_LIBS}/events"
    loggers_folder = "{JANUS_LIBS}/loggers"
    debug_level = 3
    session_timeout = 0
}}
certificates: {{
}}
media: {{
    rtp_port_range = "20000-40000"
}}
nat: {{
    nice_debug = false
    ice_enforce_list = "{self.ice_interface}"
}}
plugins: {{
    disable = "{_others("plugins", KEEP_PLUGINS)}"
}}
transports: {{
    disable = "{_others("transports", KEEP_TRANSPORTS)}"
}}
loggers: {{
    disable = "{_others("loggers", set())}"
}}
events: {{
    broadcast = false
}}
"""
        )
        (self.workdir / "janus.transport.http.jcfg").write_text(
            f"""general: {{
    json = "plain"
    base_path = "/janus"
    http = true
    port = {self.port}
    ip = "127.0.0.1"
    https = false
}}
admin: {{
    admin_http = false
    admin_https = false
}}
"""
        )
        (self.workdir / "janus.plugin.videoroom.jcfg").write_text("general: {\n}\n")

    def start(self) -> None:
        """Start Janus and wait until its HTTP API answers."""
        self._write_config()
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [
                    str(JANUS),
                    "-C",
                    str(self.workdir / "janus.jcfg"),
                    "-F",
                    str(self.workdir),
                    "-o",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"janus exited at start: see {self.log}")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port)):
                return
            time.sleep(0.1)
        raise RuntimeError(f"janus did not answer within {START_TIMEOUT_S:g} s: see {self.log}")

    def stop(self) -> None:
        """Stop Janus (SIGTERM, then SIGKILL after 5 s)."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)


class JanusError(RuntimeError):
    """Janus refused a request."""


class JanusClient:
    """One Janus session over the HTTP API, with the VideoRoom requests a relay bench needs."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.session_id: int | None = None
        self._http: aiohttp.ClientSession | None = None
        self._waiting: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._poller: asyncio.Task[None] | None = None

    async def open(self) -> None:
        """Create the session and start reading its events."""
        self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60))
        reply = await self._post(self.url, {"janus": "create"})
        self.session_id = int(reply["data"]["id"])
        self._poller = asyncio.ensure_future(self._poll())

    async def close(self) -> None:
        """Destroy the session (its handles and peer connections go with it)."""
        if self._poller is not None:
            self._poller.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._poller
        if self._http is not None:
            with contextlib.suppress(Exception):
                await self._post(f"{self.url}/{self.session_id}", {"janus": "destroy"})
            await self._http.close()

    async def _post(self, url: str, message: dict[str, Any]) -> dict[str, Any]:
        assert self._http is not None
        message = {**message, "transaction": message.get("transaction") or secrets.token_hex(6)}
        async with self._http.post(url, json=message) as response:
            reply: dict[str, Any] = await response.json(content_type=None)
        if reply.get("janus") == "error":
            raise JanusError(str(reply.get("error")))
        return reply

    async def _poll(self) -> None:
        assert self._http is not None
        url = f"{self.url}/{self.session_id}?maxev=10"
        while True:
            try:
                async with self._http.get(url) as response:
                    events = await response.json(content_type=None)
            except (aiohttp.ClientError, TimeoutError):
                await asyncio.sleep(0.2)
                continue
            for event in events if isinstance(events, list) else [events]:
                waiter = self._waiting.pop(str(event.get("transaction")), None)
                if waiter is not None and not waiter.done():
                    waiter.set_result(event)

    async def attach(self) -> int:
        """A new handle on the VideoRoom plugin."""
        reply = await self._post(
            f"{self.url}/{self.session_id}", {"janus": "attach", "plugin": PLUGIN}
        )
        return int(reply["data"]["id"])

    async def request(self, handle: int, body: dict[str, Any]) -> dict[str, Any]:
        """A synchronous plugin request (create, list): the plugin's answer."""
        reply = await self._post(
            f"{self.url}/{self.session_id}/{handle}", {"janus": "message", "body": body}
        )
        data: dict[str, Any] = reply.get("plugindata", {}).get("data", {})
        if "error" in data:
            raise JanusError(str(data["error"]))
        return data

    async def message(
        self, handle: int, body: dict[str, Any], jsep: dict[str, Any] | None = None
    ) -> tuple[dict[str, Any], dict[str, Any] | None]:
        """An asynchronous plugin request (join, publish, start): its event and JSEP."""
        transaction = secrets.token_hex(6)
        waiter: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiting[transaction] = waiter
        message: dict[str, Any] = {"janus": "message", "body": body, "transaction": transaction}
        if jsep is not None:
            message["jsep"] = jsep
        await self._post(f"{self.url}/{self.session_id}/{handle}", message)
        event = await asyncio.wait_for(waiter, REQUEST_TIMEOUT_S)
        data: dict[str, Any] = event.get("plugindata", {}).get("data", {})
        if "error" in data:
            raise JanusError(str(data["error"]))
        return data, event.get("jsep")

    async def create_room(self, room: int, publishers: int = 2) -> None:
        """A VP8 + Opus videoroom that does not hold publishers' bitrate down."""
        handle = await self.attach()
        await self.request(
            handle,
            {
                "request": "create",
                "room": room,
                "publishers": publishers,
                "videocodec": "vp8",
                "audiocodec": "opus",
                "bitrate": 0,
                "fir_freq": 0,
                "permanent": False,
            },
        )

    async def publish(self, room: int, display: str, offer_sdp: str) -> tuple[int, str]:
        """Join `room` as a publisher with this offer: (its feed id, Janus's answer SDP)."""
        handle = await self.attach()
        data, jsep = await self.message(
            handle,
            {"request": "joinandconfigure", "room": room, "ptype": "publisher", "display": display},
            {"type": "offer", "sdp": offer_sdp, "trickle": False},
        )
        if jsep is None:
            raise JanusError(f"no answer to the publisher's offer: {data}")
        return int(data["id"]), str(jsep["sdp"])

    async def subscribe(self, room: int, feed: int) -> tuple[int, str]:
        """Subscribe to `feed` in `room`: (the handle, Janus's offer SDP). A feed exists only
        once its publisher's connection is up: until then Janus says "No such feed"."""
        handle = await self.attach()
        body = {"request": "join", "room": room, "ptype": "subscriber", "streams": [{"feed": feed}]}
        deadline = time.monotonic() + REQUEST_TIMEOUT_S
        while True:
            try:
                data, jsep = await self.message(handle, body)
                break
            except JanusError as exc:
                if "No such feed" not in str(exc) or time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.2)
        if jsep is None:
            raise JanusError(f"no offer for the subscriber: {data}")
        return handle, str(jsep["sdp"])

    async def start(self, handle: int, answer_sdp: str) -> None:
        """Give a subscriber's answer; Janus starts sending."""
        await self.message(
            handle, {"request": "start"}, {"type": "answer", "sdp": answer_sdp, "trickle": False}
        )
