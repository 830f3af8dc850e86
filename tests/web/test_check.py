"""`telebridge check`: the database, the data and recordings directories and each STUN/TURN
server, one line each, against a real SQLite database and a real coturn; a dead server is
named within the 2-second bound."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from turn_server import TurnServer, running_turn

from bridge.outputs.push import SENDERS
from schedules.db import make_engine, migrate
from web.check import (
    Status,
    check_directory,
    check_sender,
    report,
    run_checks,
)
from web.cli import main
from web.settings import Settings


@pytest.fixture(scope="module")
def coturn() -> Iterator[TurnServer]:
    with running_turn("127.0.0.1", secret="check-secret") as server:
        yield server


@pytest.fixture
def silent_udp() -> Iterator[int]:
    """A UDP port that takes packets and never answers (a server that hangs, or a firewall)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        yield int(s.getsockname()[1])


def closed_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def migrated(settings: Settings) -> None:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.database)
    try:
        await migrate(engine)
    finally:
        await engine.dispose()


def lines(results: list[object]) -> dict[str, tuple[Status, str]]:
    return {r.item: (r.status, r.detail) for r in results}  # type: ignore[attr-defined]


async def test_a_working_setup_is_all_ok(tmp_path: Path, coturn: TurnServer) -> None:
    settings = Settings.load(
        {
            "TELEBRIDGE_ICE_SERVERS": (
                f"stun:127.0.0.1:{coturn.port},{coturn.url},{coturn.url}?transport=tcp"
            ),
            "TELEBRIDGE_TURN_SECRET": coturn.secret,
        },
        data_dir=tmp_path / "data",
    )
    await migrated(settings)
    before = coturn.allocations()
    results = await run_checks(settings)
    text, code = report(results)
    print("\n" + text)
    assert code == 0, text
    got = lines(results)
    assert [r.item.split()[0] for r in results] == [
        "database",
        "data",
        "recordings",
        "ffmpeg",
        "srt-live-transmit",
        "stun",
        "turn",
        "turn",
    ]
    assert got[f"stun stun:127.0.0.1:{coturn.port}"][1].startswith("answered in")
    assert "allocated 127.0.0.1:" in got[f"turn {coturn.url}"][1]
    assert "(tcp)" in got[f"turn {coturn.url}?transport=tcp"][1]
    assert coturn.allocations() == before + 2
    assert text.endswith("all OK")


async def test_wrong_secret_and_dead_servers_fail_fast(
    tmp_path: Path, coturn: TurnServer, silent_udp: int
) -> None:
    refused = closed_udp_port()
    settings = Settings.load(
        {
            "TELEBRIDGE_ICE_SERVERS": (
                f"{coturn.url},turn:127.0.0.1:{silent_udp},stun:127.0.0.1:{refused},"
                f"turn:127.0.0.1:{refused}?transport=tcp,turn:bad url"
            ),
            "TELEBRIDGE_TURN_SECRET": "not-coturns-secret",
            "TELEBRIDGE_DATABASE_URL": "postgresql://u:hunter2@127.0.0.1:1/db",
        },
        data_dir=tmp_path / "data",
    )
    started = time.monotonic()
    results = await run_checks(settings)
    took = time.monotonic() - started
    text, code = report(results)
    print("\n" + text + f"\n(took {took:.2f} s)")
    assert code == 1
    assert "hunter2" not in text
    got = lines(results)
    db = next(k for k in got if k.startswith("database"))
    assert got[db][0] is Status.FAIL
    assert "***" in db
    assert got[f"turn {coturn.url}"][0] is Status.FAIL
    assert "401" in got[f"turn {coturn.url}"][1]
    assert got[f"turn turn:127.0.0.1:{silent_udp}"] == (Status.FAIL, "no answer within 2 s")
    assert got[f"stun stun:127.0.0.1:{refused}"] == (Status.FAIL, "connection refused")
    assert got[f"turn turn:127.0.0.1:{refused}?transport=tcp"] == (
        Status.FAIL,
        "connection refused",
    )
    assert got["ice server turn:bad url"][0] is Status.FAIL
    # All at once, each within its bound: one dead server costs 2 s, not 2 s each.
    assert took < 4, f"check took {took:.1f} s"


async def test_no_credentials_say_so(tmp_path: Path, coturn: TurnServer) -> None:
    settings = Settings.load({"TELEBRIDGE_ICE_SERVERS": coturn.url}, data_dir=tmp_path / "d")
    got = lines(await run_checks(settings))
    status, detail = got[f"turn {coturn.url}"]
    assert status is Status.FAIL
    assert detail.startswith("answers, but no credentials are set")
    # Static credentials coturn does not know are refused the same way as a wrong secret.
    settings = Settings.load(
        {
            "TELEBRIDGE_ICE_SERVERS": coturn.url,
            "TELEBRIDGE_TURN_USERNAME": "someone",
            "TELEBRIDGE_TURN_PASSWORD": "something",
        },
        data_dir=tmp_path / "d",
    )
    assert "401" in lines(await run_checks(settings))[f"turn {coturn.url}"][1]


def test_a_missing_output_sender_is_a_warning_that_names_its_package(tmp_path: Path) -> None:
    for sender in SENDERS.values():
        missing = check_sender(sender, tmp_path / "nowhere")
        assert missing.status is Status.WARN
        assert missing.item == f"{sender.name} {tmp_path / 'nowhere'}"
        assert f"{sender.carries} would fail (apt install {sender.package})" in missing.detail
        assert check_sender(sender).status is Status.OK  # .ci/run installs both


def test_directories_writable_and_free_space(tmp_path: Path) -> None:
    ok = check_directory(tmp_path, "data dir")
    assert ok.status is Status.OK
    assert ok.detail.startswith("writable, ") and ok.detail.endswith(" GiB free")
    low = check_directory(tmp_path, "recordings dir", low_space=1 << 60)
    assert low.status is Status.WARN
    assert "under" in low.detail
    later = check_directory(tmp_path / "a" / "b", "recordings dir")
    assert later.status is Status.OK
    assert later.detail.startswith("not created yet; writable")
    assert not (tmp_path / "a").exists()  # check never creates anything
    (tmp_path / "file").write_text("x")
    assert check_directory(tmp_path / "file", "data dir").status is Status.FAIL


def test_the_command_prints_one_line_per_item_and_exits_nonzero_on_a_failure(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    coturn: TurnServer,
) -> None:
    for name in [k for k in __import__("os").environ if k.startswith("TELEBRIDGE_")]:
        monkeypatch.delenv(name)
    data = tmp_path / "data"
    asyncio.run(migrated(Settings.load({}, data_dir=data)))
    monkeypatch.setenv("TELEBRIDGE_ICE_SERVERS", coturn.url)
    monkeypatch.setenv("TELEBRIDGE_TURN_SECRET", coturn.secret)
    assert main(["check", "--data-dir", str(data)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in out] == ["OK"] * 6 + ["all"]
    assert "telebridge.sqlite3" in out[0] and "answered in" in out[0]
    monkeypatch.setenv("TELEBRIDGE_ICE_SERVERS", f"{coturn.url},stun:127.0.0.1:{closed_udp_port()}")
    assert main(["check", "--data-dir", str(data)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[-2].startswith("FAIL  stun stun:127.0.0.1:")
    assert out[-1] == "1 of 7 not OK"
