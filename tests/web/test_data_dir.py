"""The data directory, the SQLite database and the directories the server makes in it are its
user's alone, whatever umask it was started with; an existing directory open to others is
named in a warning and left as it is, a database file open to others is tightened."""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from web.app import make_app
from web.cli import main
from web.services import ENGINE, OUTAGE
from web.settings import Settings


@pytest.fixture
def umask(request: pytest.FixtureRequest) -> Iterator[int]:
    """Run with the umask the test is parametrized with (put back afterwards)."""
    wanted: int = request.param
    before = os.umask(wanted)
    try:
        yield wanted
    finally:
        os.umask(before)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def open_to_others(root: Path) -> dict[str, str]:
    """Everything under `root` (and itself) that a group or other user may read or enter."""
    return {
        str(p.relative_to(root.parent)): f"{mode(p):04o}"
        for p in [root, *root.rglob("*")]
        if mode(p) & 0o077
    }


@pytest.mark.parametrize("umask", [0o022, 0o000, 0o077], indirect=True, ids=["022", "000", "077"])
async def test_what_the_server_creates_is_owner_only_whatever_the_umask(
    tmp_path: Path, umask: int
) -> None:
    data = tmp_path / "data"
    app = await make_app(Settings.load({}, data_dir=data))  # a generated secret.key too
    try:
        assert app[OUTAGE].watch.migrated
        database = data / "telebridge.sqlite3"
        assert {p.name for p in data.iterdir()} >= {
            "telebridge.sqlite3",
            "telebridge.sqlite3-wal",
            "telebridge.sqlite3-shm",
            "secret.key",
            "recordings",
            "live",
        }
        # With the app's connections open: SQLite's WAL and shared-memory files too.
        assert open_to_others(data) == {}
        assert mode(data) == 0o700 and mode(data / "recordings") == 0o700
        assert mode(database) == 0o600  # not narrower either: the server must write it
    finally:
        await app[ENGINE].dispose()


def test_the_command_line_creates_them_owner_only_too(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "fresh"
    before = os.umask(0o022)
    try:
        assert main(["token", "create", "--role", "admin", "--data-dir", str(data)]) == 0
    finally:
        os.umask(before)
    assert capsys.readouterr().out.startswith("tb_")
    assert (data / "telebridge.sqlite3").exists()
    assert open_to_others(data) == {}


async def test_an_open_data_dir_is_named_in_a_warning_and_an_open_database_is_tightened(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    os.chmod(data, 0o755)  # the operator's, or made by an older server
    database = data / "telebridge.sqlite3"
    database.touch()
    os.chmod(database, 0o644)
    app = await make_app(Settings.load({}, data_dir=data, secret="x"))
    try:
        assert mode(data) == 0o755
        assert mode(database) == 0o600
        warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
        assert any(str(data) in w and "0755" in w for w in warned), warned
    finally:
        await app[ENGINE].dispose()
