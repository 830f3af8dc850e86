"""A throw-away coturn (Debian's `turnserver`) with the TURN REST shared-secret scheme.

The tests start their own server on a free port, in a temporary directory, with a log they can
read (allocations show up in it), instead of relying on a system service. It listens and relays
on one address: loopback for the credential tests, the test network's 10.77.0.1 for WebRTC.

It runs as deployed where that matters: started by deploy/coturn-entrypoint.sh (the secret in
its config file, not on its command line), with deploy/turnserver.conf's rules of where relays
may go, and allowed to relay to the server under test as a deployment allows the Telebridge
host (`allowed-peer-ip`).
"""

from __future__ import annotations

import contextlib
import ipaddress
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
from deployment_files import ROOT, turn_conf
from helpers import TEST_NETWORK

TURNSERVER = "/usr/bin/turnserver"
REALM = "telebridge"
START_TIMEOUT = 10.0
ENTRYPOINT = ROOT / "deploy" / "coturn-entrypoint.sh"
# The options of deploy/turnserver.conf that say where relays may go: the tests' coturn takes
# them as they are, so every test through it holds the deployed rules.
PEER_POLICY = ("denied-peer-ip", "allowed-peer-ip", "no-tcp-relay", "no-multicast-peers")


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


def _family(address: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ipaddress.ip_address(address).version == 6 else socket.AF_INET


def free_udp_port(address: str) -> int:
    """A port free for both UDP and TCP on `address` right now."""
    for _ in range(50):
        with socket.socket(_family(address), socket.SOCK_DGRAM) as u:
            u.bind((address, 0))
            port = int(u.getsockname()[1])
            with socket.socket(_family(address)) as t:
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
    config: Path  # what coturn reads: the entrypoint's copy, with the secret
    proc: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        """The URL for TELEBRIDGE_ICE_SERVERS (UDP)."""
        host = f"[{self.address}]" if ":" in self.address else self.address
        return f"turn:{host}:{self.port}"

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def allocations(self) -> int:
        """How many allocations coturn has granted so far (from its log)."""
        return self.log_text().count("ALLOCATE processed, success")


def deployed_peer_policy() -> list[str]:
    """deploy/turnserver.conf's lines on where relays may go."""
    conf = turn_conf()
    return [
        f"{name}={value}" if value else name for name in PEER_POLICY for value in conf.get(name, [])
    ]


def own_addresses(address: str) -> list[str]:
    """The private addresses the tests' coturn may relay to: the server under test's, as a
    deployment names the Telebridge host in `allowed-peer-ip`. On the test network (.ci/netns)
    those are both ends of the veth pair, since the server listens on every host address."""
    if ipaddress.ip_address(address) in TEST_NETWORK:
        return [f"{TEST_NETWORK[0]}-{TEST_NETWORK[-1]}"]
    return [address]


def _config(address: str, port: int, root: Path) -> str:
    lines = [
        f"listening-ip={address}",
        f"relay-ip={address}",
        f"listening-port={port}",
        "min-port=49152",
        "max-port=65535",
        "use-auth-secret",
        f"realm={REALM}",
        "fingerprint",
        "no-cli",
        "no-tls",
        "no-dtls",
        "no-stdout-log",
        f"log-file={root / 'turn.log'}",
        "simple-log",
        "verbose",
        f"pidfile={root / 'turn.pid'}",
        f"userdb={root / 'turndb.sqlite'}",
        "no-software-attribute",
        # A client that comes over IPv6 gets an IPv6 relay (coturn's default is IPv4 always),
        # so that the IPv6 rules can be tried.
        "allocation-default-address-family=keep",
        *[f"allowed-peer-ip={peer}" for peer in own_addresses(address)],
        *deployed_peer_policy(),
    ]
    if ipaddress.ip_address(address).is_loopback:
        # coturn refuses loopback peers before it looks at allowed-peer-ip; a deployment never
        # relays to loopback (its server has a network address), a test on loopback must.
        lines.append("allow-loopback-peers")
    return "\n".join(lines) + "\n"


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
        config = root / "telebridge-turn.conf"
        config.write_text(_config(address, port, root))
        env = {key: value for key, value in os.environ.items() if not key.startswith("TURN_")}
        env |= {
            "TURN_SECRET": secret,
            "TURN_CONFIG": str(config),
            "TURN_RUN_DIR": str(root),
            "PATH": f"{Path(binary).parent}{os.pathsep}{env.get('PATH', '')}",
        }
        proc = subprocess.Popen(
            ["sh", str(ENTRYPOINT)],
            cwd=root,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        server = TurnServer(address, port, secret, log, root / "turnserver.conf", proc)
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
    with socket.socket(_family(address), socket.SOCK_DGRAM) as s:
        s.settimeout(0.2)
        try:
            s.sendto(request, (address, port))
            data = s.recv(2048)
        except OSError:
            return False
    return data[:2] == b"\x01\x01" and data[8:20] == request[8:20]
