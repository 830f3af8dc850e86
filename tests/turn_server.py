"""A throw-away coturn (Debian's `turnserver`) with the TURN REST shared-secret scheme.

The tests start their own server on a free port, in a temporary directory, with a log they can
read (allocations show up in it), instead of relying on a system service. It listens and relays
on one address: loopback for the credential tests, the test network's 10.77.0.1 for WebRTC.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

TURNSERVER = "/usr/bin/turnserver"
REALM = "telebridge"
START_TIMEOUT = 10.0


def turnserver_path() -> str | None:
    """The turnserver binary, if Debian's coturn is installed."""
    return shutil.which("turnserver") or (TURNSERVER if Path(TURNSERVER).exists() else None)


def require_coturn() -> str:
    """Skip without coturn on a laptop; fail in CI, which installs it."""
    path = turnserver_path()
    if path is None:
        message = "coturn is not installed (Debian's coturn package, /usr/bin/turnserver)"
        if os.environ.get("CI"):
            pytest.fail(message + "; .ci/run installs it")
        pytest.skip(message)
    return path


def free_udp_port(address: str) -> int:
    """A port free for both UDP and TCP on `address` right now."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
            u.bind((address, 0))
            port = int(u.getsockname()[1])
            with socket.socket() as t:
                try:
                    t.bind((address, port))
                except OSError:
                    continue
            return port
    raise RuntimeError("no free port")


@dataclass
class TurnServer:
    """One running coturn: where it listens, its secret, and its log."""

    address: str
    port: int
    secret: str
    log: Path
    proc: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        """The URL for TELEBRIDGE_ICE_SERVERS (UDP)."""
        return f"turn:{self.address}:{self.port}"

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def allocations(self) -> int:
        """How many allocations coturn has granted so far (from its log)."""
        return self.log_text().count("ALLOCATE processed, success")


@contextlib.contextmanager
def running_turn(
    address: str = "127.0.0.1", secret: str = "turn-test-secret"
) -> Iterator[TurnServer]:
    """Start coturn on `address` (listening and relaying there); stop it afterwards."""
    binary = require_coturn()
    with tempfile.TemporaryDirectory(prefix="telebridge-turn-") as tmp:
        root = Path(tmp)
        log = root / "turn.log"
        port = free_udp_port(address)
        command = [
            binary,
            "-n",  # no configuration file: everything is on this command line
            f"--listening-ip={address}",
            f"--relay-ip={address}",
            f"--listening-port={port}",
            "--min-port=49152",
            "--max-port=65535",
            "--use-auth-secret",
            f"--static-auth-secret={secret}",
            f"--realm={REALM}",
            "--fingerprint",
            "--no-cli",
            "--no-tls",
            "--no-dtls",
            "--no-stdout-log",
            f"--log-file={log}",
            "--simple-log",
            "--verbose",
            f"--pidfile={root / 'turn.pid'}",
            f"--userdb={root / 'turndb.sqlite'}",
            "--allow-loopback-peers",
            "--no-software-attribute",
        ]
        proc = subprocess.Popen(
            command, cwd=root, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        server = TurnServer(address, port, secret, log, proc)
        try:
            deadline = time.monotonic() + START_TIMEOUT
            while not _answers(address, port):
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"turnserver did not start:\n{server.log_text()}")
                time.sleep(0.05)
            yield server
        finally:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=5)


def _answers(address: str, port: int) -> bool:
    """Whether a TURN server answers a STUN binding request on `address:port` (UDP)."""
    request = b"\x00\x01\x00\x00\x21\x12\xa4\x42" + os.urandom(12)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(0.2)
        try:
            s.sendto(request, (address, port))
            data = s.recv(2048)
        except OSError:
            return False
    return data[:2] == b"\x01\x01" and data[8:20] == request[8:20]
