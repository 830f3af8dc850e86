"""A real `telebridge serve --demo` process on a free loopback port, and tokens for it."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from harness.waiting import eventually_sync

# A bound against a server that never comes up, not a measure: about 2 s alone, and at the
# suite's lower priority on a loaded machine (importing, migrating PostgreSQL) over 30 s.
START_TIMEOUT = 90.0


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


def server_environment(settings: Mapping[str, str] | None = None) -> dict[str, str]:
    """This process's environment without its TELEBRIDGE_* variables, plus `settings`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TELEBRIDGE_")}
    # Logins of tests and benches need no production work factor (0.8 s per check).
    env["TELEBRIDGE_PASSWORD_COST"] = "14"
    env.update(settings or {})
    return env


def cluster_node_settings(
    database: str, port: int, name: str, secret: str = "cluster-secret"
) -> dict[str, str]:
    """The settings of the cluster node `name` on loopback `port`, on a shared `database`; the
    nodes share the secret, so one join link works on every node."""
    return {
        "TELEBRIDGE_DATABASE_URL": database,
        "TELEBRIDGE_SECRET": secret,
        "TELEBRIDGE_NODE_URL": f"http://127.0.0.1:{port}",
        "TELEBRIDGE_NODE_ID": name,
    }


def _healthy(base: str) -> bool:
    try:
        with urllib.request.urlopen(base + "/healthz", timeout=1) as r:
            return bool(r.status == 200)
    except OSError:
        return False


@contextlib.contextmanager
def running_server(
    directory: Path, settings: Mapping[str, str] | None = None, port: int | None = None
) -> Iterator[ServerProcess]:
    """Start the server with the demo seeded in `directory`; stop it afterwards (or kill it).

    `settings` are TELEBRIDGE_* variables for it (e.g. a shared database); nothing else of
    this process's environment that starts with TELEBRIDGE_ reaches it. Its output goes to
    `directory`/server.log. `port`: the one to listen on (a free one when None), for settings
    that name it (a cluster node's own URL).
    """
    data, port = directory / "data", port or free_port()
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
            env=server_environment(settings),
        )
        base = f"http://127.0.0.1:{port}"

        def up() -> bool:
            if proc.poll() is not None:
                raise RuntimeError("server exited:\n" + log_path.read_text())
            return _healthy(base)

        try:
            eventually_sync(up, timeout=START_TIMEOUT, interval=0.1, message="/healthz")
        except (AssertionError, RuntimeError) as exc:
            proc.kill()
            proc.wait(timeout=10)
            raise RuntimeError("server did not start:\n" + log_path.read_text()) from exc
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


def producer_token(data_dir: Path, settings: Mapping[str, str] | None = None) -> str:
    """A new producer API token of the server on `data_dir` (and `settings`), via the CLI."""
    return api_token(data_dir, "producer", settings)


def api_token(data_dir: Path, role: str, settings: Mapping[str, str] | None = None) -> str:
    """A new API token of `role` of the server on `data_dir` (and `settings`), via the CLI."""
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "web.cli",
            "token",
            "create",
            "--role",
            role,
            "--data-dir",
            str(data_dir),
        ],
        env=server_environment(settings),
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return done.stdout.strip()
