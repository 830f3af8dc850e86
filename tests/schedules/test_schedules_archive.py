"""The archive's storage of recordings, on SQLite and PostgreSQL: an entry made while the
database was away is stored later, once, and finishes like any other."""

from __future__ import annotations

from datetime import timedelta

from conftest import NOW
from sqlalchemy.ext.asyncio import AsyncEngine

from schedules.archive import Archive, RecordingFile


def program_file(recording_id: str) -> RecordingFile:
    return RecordingFile(
        recording_id, "program.mp4", "program", None, "video/mp4", 1000, "ab" * 32, 60.0
    )


async def test_a_restart_continues_the_unfinished_recording_as_a_new_part(
    engine: AsyncEngine,
) -> None:
    archive = Archive(engine)
    first = await archive.open_recording("b1", "Caspian morning", ["trend", "dha"], NOW)
    again = await archive.open_recording("b1", "Caspian morning", ["trend", "dha"], NOW)
    assert (again.id, again.parts, again.directory) == (first.id, 2, f"b1/{first.id}")
    await archive.finish(first.id, NOW + timedelta(hours=1), [program_file(first.id)])
    after = await archive.open_recording("b1", "Caspian morning", ["trend", "dha"], NOW)
    assert after.id != first.id and after.parts == 1  # a finished entry is never reopened


async def test_a_recording_made_while_the_database_was_away_is_stored_once_later(
    engine: AsyncEngine,
) -> None:
    archive = Archive(engine)
    made = Archive.new_recording("b2", "Steppe news", ["qazcontent", "kabar"], NOW)
    assert made.directory == f"b2/{made.id}" and made.status == "recording"
    assert await archive.search(finished_only=False) == []  # nothing stored by making it
    await archive.add_recording(made)
    await archive.add_recording(made)  # a retry after a lost answer changes nothing
    (stored,) = await archive.search(finished_only=False)
    assert stored == made
    done = await archive.finish(made.id, NOW + timedelta(minutes=30), [program_file(made.id)])
    assert done.status == "finished" and done.duration_s == 60.0
    assert (await archive.get(made.id)).files == (program_file(made.id),)


async def test_the_limit_counts_only_what_the_asker_may_see(engine: AsyncEngine) -> None:
    """An operator of Kabar, whose studio took part in two shows among 250 newer ones of other
    partners, sees both (the limit used to be applied first, then the access rule: nothing)."""
    archive = Archive(engine)
    theirs = []
    for n in range(252):
        studios = ["kabar", "trend"] if n < 2 else ["trend", "dha"]
        made = Archive.new_recording(f"b{n}", f"Show {n}", studios, NOW + timedelta(minutes=n))
        await archive.add_recording(made)
        await archive.finish(
            made.id, NOW + timedelta(minutes=n, seconds=30), [program_file(made.id)]
        )
        if n < 2:
            theirs.append(made.id)
    found = await archive.search(visible=lambda r: "kabar" in r.studios, limit=200)
    assert sorted(r.id for r in found) == sorted(theirs)
    by_studio = await archive.search(studio="kabar", limit=200)
    assert sorted(r.id for r in by_studio) == sorted(theirs)
    assert len(await archive.search(limit=200)) == 200  # the limit still holds for everyone
    newest = await archive.search(limit=3)
    assert [r.title for r in newest] == ["Show 251", "Show 250", "Show 249"]
