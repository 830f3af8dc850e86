"""`telebridge check`: does the setup in force work? One line per item, before a show.

Checks the database (a trivial query), the data and recordings directories (writable, free
space), every STUN server (a binding request) and every TURN server (an authenticated
Allocate with the credentials the consoles would get), each with a short bound, all at once.
Exit code 0 when every line says OK, else 1.
"""

from __future__ import annotations

import asyncio
import enum
import functools
import os
import shutil
import ssl
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aioice import stun, turn

from bridge.outputs.push import SENDERS
from bridge.outputs.sender import Sender
from schedules.db import make_engine, ping, safe_url
from schedules.timeutil import utc_now
from web.access.turn import IceUrl, check_credentials, parse_ice_url
from web.settings import Settings

DB_TIMEOUT = 5.0
ICE_TIMEOUT = 2.0
STUN_RETRANSMIT = (0.0, 0.5, 1.5)  # seconds after the start at which a binding request goes
LOW_SPACE_BYTES = 5 * 1024**3  # an hour of program and two ISOs at 720p is about 4 GB
GIB = 1024**3


class Status(enum.StrEnum):
    """What a line says."""

    OK = "OK"
    WARN = "WARN"
    FAIL = "FAIL"


@dataclass(frozen=True)
class Result:
    """One checked item."""

    status: Status
    item: str
    detail: str

    def line(self) -> str:
        return f"{self.status.value:<4}  {self.item:<40}  {self.detail}"


async def check_database(settings: Settings, bound: float = DB_TIMEOUT) -> Result:
    """Whether the database answers a trivial query (the password never shows)."""
    url = settings.database
    item = f"database {safe_url(url)}"
    not_yet = _sqlite_not_created(url, item)
    if not_yet is not None:
        return not_yet
    started = time.monotonic()
    engine = make_engine(url)
    try:
        await ping(engine, bound)
    except TimeoutError:
        return Result(Status.FAIL, item, f"no answer within {bound:g} s")
    except Exception as exc:  # the drivers raise assorted errors: say what it was
        return Result(Status.FAIL, item, _reason(exc))
    finally:
        await engine.dispose()
    return Result(Status.OK, item, f"answered in {_ms(started)} ms")


def _sqlite_not_created(url: str, item: str) -> Result | None:
    """A SQLite file that does not exist yet: fine when `serve` can create it (never here)."""
    if not url.startswith("sqlite") or ":memory:" in url:
        return None
    path = Path(url.split(":///", 1)[-1])
    if path.exists():
        return None
    parent = _existing_parent(path.parent)
    if os.access(parent, os.W_OK):
        return Result(Status.OK, item, "not created yet; `serve` creates it")
    return Result(Status.FAIL, item, f"missing, and {parent} is not writable")


def check_directory(path: Path, what: str, low_space: int = LOW_SPACE_BYTES) -> Result:
    """Whether `path` is (or can be made) a writable directory, and its free space."""
    item = f"{what} {path}"
    existing = _existing_parent(path)
    if existing != path and not path.exists():
        if not os.access(existing, os.W_OK):
            return Result(Status.FAIL, item, f"missing, and {existing} is not writable")
        note = "not created yet; "
    elif not path.is_dir():
        return Result(Status.FAIL, item, "not a directory")
    else:
        try:
            with tempfile.NamedTemporaryFile(dir=path, prefix=".telebridge-check-"):
                pass
        except OSError as exc:
            return Result(Status.FAIL, item, f"not writable: {exc.strerror or exc}")
        note = ""
    free = shutil.disk_usage(existing).free
    text = f"{note}writable, {free / GIB:.1f} GiB free"
    if free < low_space:
        return Result(Status.WARN, item, f"{text} (under {low_space / GIB:g} GiB)")
    return Result(Status.OK, item, text)


def check_sender(sender: Sender, path: Path | None = None) -> Result:
    """Whether a program the live outputs send through is installed (HLS needs none)."""
    path = path or sender.binary
    item = f"{sender.name} {path}"
    if not os.access(path, os.X_OK):
        missing = f"missing: {sender.carries} would fail (apt install {sender.package})"
        return Result(Status.WARN, item, missing)
    return Result(Status.OK, item, f"there, for {sender.carries}")


class _StunClient(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        # Answers, or the error of an ICMP "port unreachable" (nobody listens there).
        self.answers: asyncio.Queue[bytes | OSError] = asyncio.Queue(maxsize=16)

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        if not self.answers.full():
            self.answers.put_nowait(data)

    def error_received(self, exc: Exception) -> None:
        if isinstance(exc, OSError) and not self.answers.full():
            self.answers.put_nowait(exc)


async def _binding(url: IceUrl) -> tuple[str, int]:
    """Send a binding request (retransmitted) and return the mapped address."""
    request = stun.Message(message_method=stun.Method.BINDING, message_class=stun.Class.REQUEST)
    if url.transport == "tcp":
        context = ssl.create_default_context() if url.scheme == "stuns" else None
        reader, writer = await asyncio.open_connection(url.host, url.port, ssl=context)
        try:
            writer.write(bytes(request))
            header = await reader.readexactly(20)
            body = await reader.readexactly(int.from_bytes(header[2:4], "big"))
            response = stun.parse_message(header + body)
        finally:
            writer.close()
    else:
        loop = asyncio.get_running_loop()
        transport, client = await loop.create_datagram_endpoint(
            _StunClient, remote_addr=(url.host, url.port)
        )
        try:
            response = await _udp_transaction(transport, client, request)
        finally:
            transport.close()
    if response.transaction_id != request.transaction_id:
        raise ConnectionError("answered another request")
    if response.message_class != stun.Class.RESPONSE:
        raise ConnectionError(f"answered with error {response.error_code}")
    mapped = response.attributes.get("XOR-MAPPED-ADDRESS") or response.attributes.get(
        "MAPPED-ADDRESS"
    )
    if not mapped:
        raise ConnectionError("answered without a mapped address")
    return mapped[0], int(mapped[1])


async def _udp_transaction(
    transport: asyncio.DatagramTransport, client: _StunClient, request: stun.Message
) -> stun.Message:
    """The answer to `request`, sent again at STUN_RETRANSMIT (the caller bounds the wait)."""

    async def send() -> None:
        started = time.monotonic()
        for at in STUN_RETRANSMIT:
            await asyncio.sleep(max(0.0, at - (time.monotonic() - started)))
            transport.sendto(bytes(request))

    sender = asyncio.create_task(send())
    try:
        while True:
            data = await client.answers.get()
            if isinstance(data, OSError):
                raise data
            try:
                message = stun.parse_message(data)
            except ValueError:
                continue
            if message.transaction_id == request.transaction_id:
                return message
    finally:
        sender.cancel()


async def check_stun(url: IceUrl, bound: float = ICE_TIMEOUT) -> Result:
    """Whether a STUN server answers a binding request within `bound` seconds."""
    item = f"stun {url.url}"
    started = time.monotonic()
    try:
        async with asyncio.timeout(bound):
            mapped = await _binding(url)
    except TimeoutError:
        return Result(Status.FAIL, item, f"no answer within {bound:g} s")
    except Exception as exc:
        return Result(Status.FAIL, item, _reason(exc))
    return Result(
        Status.OK, item, f"answered in {_ms(started)} ms; this host is {mapped[0]}:{mapped[1]}"
    )


class _Relay(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closed.done():
            self.closed.set_result(None)


async def check_turn(
    url: IceUrl, username: str, password: str, bound: float = ICE_TIMEOUT
) -> Result:
    """Whether a TURN server grants an allocation to these credentials within `bound` s."""
    item = f"turn {url.url}"
    started = time.monotonic()
    try:
        async with asyncio.timeout(bound):
            transport, relay = await turn.create_turn_endpoint(
                _Relay,
                server_addr=(url.host, url.port),
                username=username or None,  # without: the server's 401 still shows it answers
                password=password or None,
                ssl=ssl.create_default_context() if url.scheme == "turns" else None,
                transport=url.transport,
            )
    except TimeoutError:
        return Result(Status.FAIL, item, f"no answer within {bound:g} s")
    except stun.TransactionFailed as exc:
        code = exc.response.error_code
        if code == 401 and not username:
            return Result(
                Status.FAIL,
                item,
                "answers, but no credentials are set: TELEBRIDGE_TURN_SECRET (or "
                "TELEBRIDGE_TURN_USERNAME and TELEBRIDGE_TURN_PASSWORD)",
            )
        if code == 401:
            return Result(
                Status.FAIL,
                item,
                "refused the credentials (401): is TELEBRIDGE_TURN_SECRET the server's "
                "static-auth-secret (or are the user name and password right)?",
            )
        return Result(Status.FAIL, item, f"refused the allocation ({code})")
    except Exception as exc:
        return Result(Status.FAIL, item, _reason(exc))
    relayed = transport.get_extra_info("sockname")
    elapsed = _ms(started)
    transport.close()  # deletes the allocation
    try:
        async with asyncio.timeout(1.0):
            await relay.closed
    except TimeoutError:
        pass
    return Result(
        Status.OK, item, f"allocated {relayed[0]}:{relayed[1]} in {elapsed} ms ({url.transport})"
    )


async def run_checks(settings: Settings) -> list[Result]:
    """Every check of the settings in force, run at once, in a stable order."""
    username, password = check_credentials(settings, utc_now())
    jobs: list[Callable[[], Awaitable[Result]]] = [functools.partial(check_database, settings)]
    results_now = [
        check_directory(settings.data_dir, "data dir"),
        check_directory(settings.data_dir / "recordings", "recordings dir"),
        *(check_sender(sender) for sender in SENDERS.values()),
    ]
    bad_urls: list[Result] = []
    for raw in settings.ice_server_urls:
        try:
            url = parse_ice_url(raw)
        except ValueError as exc:
            bad_urls.append(Result(Status.FAIL, f"ice server {raw}", str(exc)))
            continue
        if url.is_turn:
            jobs.append(functools.partial(check_turn, url, username, password))
        else:
            jobs.append(functools.partial(check_stun, url))
    if not settings.ice_server_urls:
        note = "none configured: fine on a LAN; consoles behind NAT or firewalls need them"
        bad_urls.append(Result(Status.OK, "stun/turn servers", note))
    checked = await asyncio.gather(*(job() for job in jobs))
    return [checked[0], *results_now, *checked[1:], *bad_urls]


def report(results: list[Result]) -> tuple[str, int]:
    """The printed lines and the exit code (0 only when every line says OK)."""
    text = "\n".join(r.line() for r in results)
    failed = [r for r in results if r.status is not Status.OK]
    summary = "all OK" if not failed else f"{len(failed)} of {len(results)} not OK"
    return f"{text}\n{summary}", 0 if not failed else 1


def _existing_parent(path: Path) -> Path:
    path = path.absolute()
    while not path.exists() and path.parent != path:
        path = path.parent
    return path


def _ms(started: float) -> int:
    return round((time.monotonic() - started) * 1000)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
