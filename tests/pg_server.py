"""A throw-away PostgreSQL server from Debian's binaries, on loopback, in its own directory.

The tests start their own cluster (initdb + pg_ctl) instead of using a system service: it runs
anywhere the `postgresql` package is installed, leaves nothing behind, and a test may stop and
restart it. PostgreSQL refuses to run as root, so as root the cluster belongs to `nobody`.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from harness.server import free_port

START_TIMEOUT = 30  # seconds for initdb, start and stop each
RUN_AS = "nobody"
USER = "telebridge"


def pg_bindir() -> Path | None:
    """Where initdb, pg_ctl and psql live: on PATH, else Debian's newest versioned directory."""
    found = shutil.which("pg_ctl")
    if found and shutil.which("initdb") and shutil.which("psql"):
        return Path(found).resolve().parent
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"),
        key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0,
    )
    return Path(candidates[-1]).parent if candidates else None


def _scratch() -> str | None:
    """Memory-backed /dev/shm when there is one: copying a template database writes every
    page of it (about 8 MB), which takes ten times longer on a disk."""
    shm = Path("/dev/shm")
    return str(shm) if shm.is_dir() and os.access(shm, os.W_OK) else None


@dataclass
class PgServer:
    """One running cluster: where it is and how to reach it."""

    bindir: Path
    root: Path
    port: int

    @property
    def data(self) -> Path:
        return self.root / "data"

    def url(self, database: str = "postgres") -> str:
        """The URL the app takes in TELEBRIDGE_DATABASE_URL."""
        return f"postgresql://{USER}@127.0.0.1:{self.port}/{database}"

    def _run(self, *args: str, timeout: float = START_TIMEOUT) -> str:
        command = [str(self.bindir / args[0]), *args[1:]]
        if os.geteuid() == 0:
            command = ["runuser", "-u", RUN_AS, "--", *command]
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=timeout, cwd=self.root, check=False
        )
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(args[:2])} failed: {done.stdout}{done.stderr}")
        return done.stdout

    def sql(self, statement: str, database: str = "postgres") -> str:
        """Run one statement with psql; its output (unaligned, tuples only)."""
        return self._run(
            "psql",
            "-X",
            "-q",
            "-A",
            "-t",
            "-v",
            "ON_ERROR_STOP=1",
            "-h",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-U",
            USER,
            "-d",
            database,
            "-c",
            statement,
        )

    def start(self) -> None:
        """Start the server and wait until it accepts connections."""
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories='{self.root}'"
        )
        self._run(
            "pg_ctl", "-D", str(self.data), "-l", str(self.root / "log"), "-w", "-t",
            str(START_TIMEOUT), "-o", options, "start",
        )  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        """Stop the server (`immediate` is a crash: no shutdown checkpoint)."""
        self._run(
            "pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", str(START_TIMEOUT), "stop"
        )  # fmt: skip

    def log(self) -> str:
        """The server's log so far (for failure messages)."""
        path = self.root / "log"
        return path.read_text(errors="replace") if path.exists() else ""


@contextlib.contextmanager
def running_pg(durable: bool = False) -> Iterator[PgServer]:
    """A fresh cluster on a free loopback port; stopped and removed afterwards.

    `durable` keeps PostgreSQL's crash safety, for tests that crash the server and count on
    what it acknowledged before; the others trade it for speed.
    """
    bindir = pg_bindir()
    if bindir is None:
        raise FileNotFoundError("PostgreSQL binaries (Debian's postgresql package) not found")
    # Not under pytest's tmp_path: that is private to root, and the cluster belongs to nobody.
    root = Path(tempfile.mkdtemp(prefix="telebridge-pg-", dir=_scratch()))
    if os.geteuid() == 0:
        shutil.chown(root, RUN_AS)
    server = PgServer(bindir, root, free_port())
    try:
        server._run(
            "initdb", "-D", str(server.data), "-U", USER, "--auth=trust", "-E", "UTF8",
            "--locale=C.UTF-8", "--no-sync",
        )  # fmt: skip
        with (server.data / "postgresql.conf").open("a") as conf:
            conf.write("max_connections = 200\nshared_buffers = 32MB\n")
            if not durable:
                # Durability is worthless for a throw-away cluster; fsync per commit would
                # dominate the run.
                conf.write("fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n")
        server.start()
        yield server
    finally:
        with contextlib.suppress(Exception):
            server.stop("immediate")
        # Wait for the postmaster to let go of its files before removing them.
        deadline = time.monotonic() + 10
        while (server.data / "postmaster.pid").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        shutil.rmtree(root, ignore_errors=True)
