"""The data directory, private to the server's user.

It holds the signing key, the SQLite database (password hashes, token digests, stream keys and
passphrases) and the recordings: no other user of the host may read them. Each mode is set by
chmod after creating, because `mkdir(mode=...)` and `open(mode=...)` only narrow what the
umask allows: a server started under umask 022 would otherwise make them readable by all, and
one under 077 or stricter still gets exactly these modes.

A directory that already exists with a looser mode is left as it is, with a warning: it may be
a mount point or a directory the operator shares on purpose (a backup group), and chmod on it
may not even be permitted. The database file is the server's own, so it is tightened.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600
# SQLite's companions of a database file (WAL mode): they hold its newest pages.
_SQLITE_COMPANIONS = ("-wal", "-shm", "-journal")

log = logging.getLogger("telebridge.web")


def private_dir(path: Path) -> None:
    """Make `path` (and missing parents) a directory only its owner can enter, or warn when
    it exists and others may."""
    if path.is_dir():
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            log.warning(
                "directory %s is open to other users (mode %04o): "
                "run `chmod 700 %s` unless that is on purpose",
                path,
                mode,
                path,
            )
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.mkdir(mode=PRIVATE_DIR, exist_ok=True)  # exist_ok: a second server starting alongside
    os.chmod(path, PRIVATE_DIR)


def sqlite_file(url: str) -> Path | None:
    """The file of a SQLite database URL; None for other databases and in-memory ones."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return None
    name = parsed.database
    if parsed.get_backend_name() != "sqlite" or not name or name == ":memory:":
        return None
    if name.startswith("file:"):
        return None  # a SQLite URI (shared memory, read-only, ...): not a file we create
    return Path(name)


def private_sqlite(url: str) -> None:
    """Create the SQLite file of `url` owner-only before SQLite does (it would use 0644), or
    tighten it. SQLite gives its WAL and shared-memory files the database file's mode; those
    an older server left are tightened too."""
    path = sqlite_file(url)
    if path is None:
        return
    if not path.parent.is_dir():
        private_dir(path.parent)
    try:
        # An empty file is an empty SQLite database.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
    except FileExistsError:
        pass
    else:
        try:
            os.fchmod(fd, PRIVATE_FILE)
        finally:
            os.close(fd)
    for file in (path, *(path.with_name(path.name + s) for s in _SQLITE_COMPANIONS)):
        if file.exists():
            _tighten(file)


def _tighten(path: Path) -> None:
    mode = stat.S_IMODE(path.stat().st_mode)
    if not mode & 0o077:
        return
    try:
        os.chmod(path, PRIVATE_FILE)
    except PermissionError:
        log.warning("%s is open to other users (mode %04o) and not ours to chmod", path, mode)
