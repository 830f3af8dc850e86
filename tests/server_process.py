"""A real `telebridge serve --demo` process on a free loopback port, for end-to-end tests."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

START_TIMEOUT = 30.0


@dataclass(frozen=True)
class ServerProcess:
    """The running server: its process, base URL and data directory."""

    proc: subprocess.Popen[bytes]
    base: str
    data: Path


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def running_server(
    directory: Path, settings: Mapping[str, str] | None = None
) -> Iterator[ServerProcess]:
    """Start the server with the demo seeded in `directory`; stop it afterwards (or kill it).

    `settings` are TELEBRIDGE_* variables for it (e.g. a shared database); nothing else of
    this process's environment that starts with TELEBRIDGE_ reaches it.
    """
    data, port = directory / "data", free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TELEBRIDGE_")}
    env.update(settings or {})
    log_path = directory / "server.log"
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "web.cli",
                "serve",
                "--demo",
                "--port",
                str(port),
                "--data-dir",
                str(data),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            try:
                with urllib.request.urlopen(base + "/healthz", timeout=1) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError("server did not start:\n" + log_path.read_text())
            time.sleep(0.1)
        try:
            yield ServerProcess(proc, base, data)
        finally:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=10)
