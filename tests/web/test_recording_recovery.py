"""Recordings the archive does not know: a show recorded while the database was down, and the
server stopped before it came back. The next start finds the files and files them."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from live_studios import book
from recorded_segments import write_program_segments
from webtools import ClockedApp

from web.services import ARCHIVE, BOOKINGS, RECORDINGS


async def left_on_disk(
    c: ClockedApp, recording_id: str, seconds: float
) -> tuple[datetime, str, Path]:
    """A booking tomorrow and a recording of it that only the disk knows: its start, its id,
    and the recording's directory."""
    starts = c.clock() + timedelta(days=1)
    booking_id = (await book(c, starts))["trend"].booking
    directory = c.app[RECORDINGS].root / booking_id / recording_id
    write_program_segments(directory, seconds)
    return starts, booking_id, directory


async def test_a_recording_made_while_the_database_was_down_is_filed_at_the_next_start(
    clocked: ClockedApp,
) -> None:
    c = clocked
    starts, booking_id, directory = await left_on_disk(c, "0a1b2c3d4e5f", 4.0)
    (c.app[RECORDINGS].root / "gone-booking" / "ffffffffffff").mkdir(parents=True)
    stray = c.app[RECORDINGS].root / "nobody" / "123456abcdef"
    write_program_segments(stray, 1.0)  # media of no booking: left alone, not filed

    c.clock.set(starts + timedelta(hours=2))  # the show is over
    assert await c.app[RECORDINGS].recovery.recover(c.app[BOOKINGS], c.clock()) == 1

    resp = await c.client.get(
        f"/api/recordings?booking={booking_id}", headers=c.headers["producer"]
    )
    assert resp.status == 200, await resp.text()
    (entry,) = (await resp.json())["recordings"]
    assert entry["id"] == "0a1b2c3d4e5f" and entry["title"] == "Caspian energy week"
    (program,) = entry["files"]
    assert program["kind"] == "program" and 3.5 <= entry["duration_s"] <= 4.5
    assert (directory / "program.mp4").exists() and not list(directory.glob("*.ts"))
    assert stray.exists() and list(stray.glob("*.ts"))
    # A second start finds nothing new to file.
    assert await c.app[RECORDINGS].recovery.recover(c.app[BOOKINGS], c.clock()) == 0


async def test_a_recording_found_while_its_show_is_on_air_waits_to_be_continued(
    clocked: ClockedApp,
) -> None:
    c = clocked
    starts, booking_id, directory = await left_on_disk(c, "00000000abcd", 2.0)
    # Not on air for the autopilot (its clock stays); on air for the recovery.
    assert (
        await c.app[RECORDINGS].recovery.recover(c.app[BOOKINGS], starts + timedelta(minutes=10))
        == 0
    )
    (entry,) = await c.app[ARCHIVE].search(finished_only=False, status="recording")
    assert (entry.id, entry.booking_id, entry.parts) == ("00000000abcd", booking_id, 1)
    assert list(directory.glob("*.ts"))  # kept for the next part to follow
