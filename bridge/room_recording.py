"""A room's recording: the program's file and every studio's own feed (its ISO), on one timeline.

The room (bridge.room) owns the studios' feeds; this owns what records them. A studio's ISO
listens to its feeds from the studio's first connection on, follows it through reconnects (the
room hands a feed's listeners on to its new feed), starts on the recording's timeline when the
studio joins the booking mid-show, and stops when it leaves it. Stopping ends every ISO at the
moment the program ends, then finalizes them all, a studio that never came back included.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

from bridge.errors import RoomClosed
from bridge.program.production import Production
from bridge.recording.directory import finalize_isos
from bridge.recording.iso import IsoRecording
from bridge.relay.fanout import Feed
from bridge.room_health import finished_details
from bridge.spec import EventKind, RecordedFile, RecorderFigures

FeedKey = tuple[str, str]  # (studio id, "video" | "audio")
Emit = Callable[..., None]  # Room._emit: (kind, studio_id, /, **details)


class RoomRecording:
    """What records a room: its production's program recording and the studios' ISOs."""

    def __init__(self, production: Production | None, feeds: dict[FeedKey, Feed], emit: Emit):
        self._production = production
        self._feeds = feeds  # the room's, shared: a studio's current feeds
        self._emit = emit
        self.isos: dict[str, IsoRecording] = {}
        self._started: float | None = None  # time.monotonic() at start

    @property
    def running(self) -> bool:
        """Whether the room records now."""
        production = self._production
        return production is not None and production.recording is not None

    def start(self, directory: Path, studio_ids: list[str]) -> bool:
        """Record the program and each studio's feed into `directory`; False when already
        recording."""
        production = self._production
        if production is None:
            raise RoomClosed("This room composes no program to record")
        if production.recording is not None:
            return False
        production.start_recording(directory)
        self._started = time.monotonic()
        for studio_id in studio_ids:  # each studio's own feed, as it arrives
            iso = self._iso_for(directory, studio_id)
            self.isos[studio_id] = iso
            feed = self._feeds.get((studio_id, "video"))
            if feed is not None:
                if feed.codec is not None:
                    iso.follow(feed.codec)
                feed.listeners.append(iso.on_packet)
            sound = self._feeds.get((studio_id, "audio"))
            if sound is not None:
                sound.listeners.append(iso.on_audio_packet)
        self._emit(EventKind.RECORDING_STARTED, "", directory=str(directory))
        return True

    def first_feed(self, studio_id: str, kind: str, feed: Feed) -> None:
        """A studio's first connection brought this feed: its ISO (if any) listens to it."""
        iso = self.isos.get(studio_id)
        if iso is not None:
            feed.listeners.append(iso.on_packet if kind == "video" else iso.on_audio_packet)

    def follow(self, studio_id: str, feed: Feed) -> None:
        """A studio's video feed (new or replaced) brings its codec: its ISO writes it, set
        before its first packet reaches it."""
        iso = self.isos.get(studio_id)
        if iso is not None and feed.codec is not None:
            iso.follow(feed.codec)

    def add_studio(self, studio_id: str) -> None:
        """A studio joined the booking mid-show: its ISO starts on the recording's timeline
        (its feed's first connection attaches it)."""
        recording = self._production.recording if self._production is not None else None
        if recording is not None:
            self.isos[studio_id] = self._iso_for(recording.directory, studio_id)

    async def remove_studio(self, studio_id: str) -> None:
        """A studio left the booking: its ISO stops (its segments stay: `stop` finalizes them
        with the others)."""
        iso = self.isos.pop(studio_id, None)
        if iso is not None:
            await asyncio.get_running_loop().run_in_executor(None, iso.close)

    def figures(self) -> tuple[RecorderFigures, ...]:
        """The program's and the studios' recorders' figures (none while not recording)."""
        production = self._production
        if production is None or production.recording is None:
            return ()
        figures = [production.recording.recorder.counters.figures("program", None)]
        for sid, iso in self.isos.items():
            if iso.recorder is not None:
                figures.append(iso.recorder.counters.figures("iso", sid))
        return tuple(figures)

    async def suspend(self) -> None:
        """Stop writing without finalizing: a restart mid-show continues the same recording."""
        if self._production is None:
            return
        isos = self._detach_isos()
        await self._production.suspend_recording()
        loop = asyncio.get_running_loop()
        for iso in isos.values():
            await loop.run_in_executor(None, iso.close)

    async def stop(self) -> list[RecordedFile]:
        """Stop recording; the finalized files: the program and each studio's ISO."""
        production = self._production
        if production is None:
            return []
        files: list[RecordedFile] = []
        figures = {f.studio_id: f for f in self.figures()}  # the program's under None
        recording = production.recording
        directory = recording.directory if recording is not None else None
        # The studios' own feeds end at the moment the program does, not after its finalizing
        # (they would run on for as long as that takes, and be longer than the program).
        isos = self._detach_isos()
        program = await production.stop_recording()
        if program is not None:
            files.append(program)
        loop = asyncio.get_running_loop()
        for iso in isos.values():
            await loop.run_in_executor(None, iso.close)
        # Every studio's feed in the directory: a part before a restart may hold the feed of a
        # studio that has not come back (or left the booking) since.
        if directory is not None:
            files += await loop.run_in_executor(None, finalize_isos, directory)
        for f in files:
            details = finished_details(figures.get(f.studio_id), f)
            self._emit(EventKind.RECORDING_FINISHED, f.studio_id or "", **details)
        return files

    def _iso_for(self, directory: Path, studio_id: str) -> IsoRecording:
        """A studio's own recording, on the timeline of the recording now running."""
        return IsoRecording(
            directory, studio_id, self._keyframe_of(studio_id), started=self._started
        )

    def _keyframe_of(self, studio_id: str) -> Callable[[], None]:
        def ask() -> None:
            feed = self._feeds.get((studio_id, "video"))
            if feed is not None:
                feed.want_keyframe()

        return ask

    def _detach_isos(self) -> dict[str, IsoRecording]:
        """Take every ISO off the feeds (and out of `isos`); the ISOs, still open."""
        isos, self.isos = self.isos, {}
        listeners = {id(i) for i in isos.values()}
        for feed in self._feeds.values():
            feed.listeners = [
                fn for fn in feed.listeners if id(getattr(fn, "__self__", None)) not in listeners
            ]
        return isos
