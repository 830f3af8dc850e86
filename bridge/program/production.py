"""A room's joint program: the studios' pictures and sound, the program engines, the recorder.

Like Galene's disk writer, the program is just another subscriber of the room: it reads each
studio's decoded video track (aiortc decodes on its own thread), keeps only the newest frame,
takes each studio's Opus packets from the relay's tap, and never slows the relay down. The
recorder in turn subscribes to the program's video and audio packets.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import av
from aiortc import RTCRtpSender
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from aiortc.rtp import RtpPacket

from bridge.program.audio import PROGRAM_MIX, ProgramAudio
from bridge.program.demand import LINGER_S
from bridge.program.engine import ProgramEngine, ProgramFormat
from bridge.program.layout import STUDIO_LAYOUTS, tiles_for
from bridge.program.return_feed import ProgramPackets, ReturnFeed, ReturnPicture, ReturnSound
from bridge.program.tap import ProgramTap
from bridge.recording.directory import PROGRAM, program_file, recorded_file
from bridge.recording.isolated import FinalizeFailed, finalize
from bridge.recording.recorder import AudioParams, SegmentRecorder, VideoParams
from bridge.spec import RecordedFile

if TYPE_CHECKING:  # bridge.outputs builds on this package: the room makes the outputs
    from bridge.outputs.manager import Outputs

log = logging.getLogger("telebridge.bridge.production")


class Recording:
    """The program being recorded into one directory, segment by segment."""

    def __init__(self, engine: ProgramEngine, audio: ProgramAudio, directory: Path) -> None:
        fmt = engine.fmt
        self.directory = directory
        self.recorder = SegmentRecorder(
            directory,
            PROGRAM,
            VideoParams(width=fmt.width, height=fmt.height, fps=fmt.fps),
            audio=AudioParams(extradata=audio.extradata),
        )
        # The recording's timeline starts now: the tap's 0 on both clocks is its 0.
        self._tap = ProgramTap(
            engine, audio, self.recorder.write, self.recorder.write_audio, "the recording"
        )
        self.recorder.video_origin = self._tap.timeline.video_origin
        self.recorder.audio_origin = self._tap.timeline.audio_origin

    async def suspend(self) -> None:
        """Stop writing but leave the segments unfinalized (the server is going down mid-show;
        the next start continues the recording)."""
        await self._tap.close(drain=False)
        await asyncio.get_running_loop().run_in_executor(None, self.recorder.close)

    async def finish(self) -> RecordedFile | None:
        """Stop, write what is queued, and finalize into the program's file (off the event
        loop); None when nothing was recorded."""
        await self._tap.close(drain=True)
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, self.recorder.close)
        segments = self.recorder.segments()
        if not segments:
            return None  # stopped before the first keyframe: nothing was recorded
        try:
            finished = await loop.run_in_executor(
                None, finalize, segments, program_file(self.directory)
            )
        except ValueError:
            log.warning("the program recording in %s had nothing readable", self.directory)
            return None
        except FinalizeFailed as exc:  # its segments stay: the next start tries again
            log.error("%s in %s; its segments are kept", exc, self.directory)
            return None
        return recorded_file(finished)


class Production:
    """The program of one room: inputs by studio, layout control, recording."""

    def __init__(
        self,
        studio_ids: Sequence[str],
        labels: Sequence[str],
        fmt: ProgramFormat | None = None,
        outputs: Callable[[ProgramEngine, ProgramAudio], Outputs] | None = None,
        linger: float = LINGER_S,
    ) -> None:
        self.studio_ids = list(studio_ids)
        self.engine = ProgramEngine(fmt, linger=linger)  # its picture only while used
        self.engine.set_sources(list(labels))
        # The lower thirds, logo and clock over the picture (drawn by the engine's compositor).
        self.graphics = self.engine.graphics
        self.graphics.set_order(self.studio_ids)
        self.audio = ProgramAudio(self.studio_ids)
        # The picture as RTP, packetized once for every connection it goes back to.
        self.packets = ProgramPackets(self.engine)
        # The live outputs of this program (RTMP, SRT, HLS), made from its engines.
        self.outputs = outputs(self.engine, self.audio) if outputs is not None else None
        self._readers: dict[str, asyncio.Task[None]] = {}
        self.recording: Recording | None = None

    def start(self) -> None:
        """Start the program's frame and audio block clocks, from one origin."""
        self.engine.start()
        assert self.engine.origin is not None
        self.audio.start(self.engine.origin)

    def return_feed(
        self,
        studio_id: str,
        video: RTCRtpSender | None,
        audio: RTCRtpSender | None,
        shown: bool = True,
    ) -> ReturnFeed:
        """The program's picture and the studio's mix-minus, sent back to the studio through
        its connection's senders (paused, not `shown`, for a console that put it away)."""
        return ReturnFeed(
            ReturnPicture(self.packets, video, studio_id, f"the return feed of {studio_id}", shown)
            if video is not None
            else None,
            ReturnSound(self.audio, studio_id, audio, studio_id, shown)
            if audio is not None
            else None,
        )

    def control_feed(
        self, viewer: str, video: RTCRtpSender | None, audio: RTCRtpSender | None
    ) -> ReturnFeed:
        """The program's picture and its own mix, for a control room's connection."""
        return ReturnFeed(
            ReturnPicture(self.packets, video, viewer, f"the control room of {viewer}")
            if video is not None
            else None,
            ReturnSound(self.audio, PROGRAM_MIX, audio, viewer) if audio is not None else None,
        )

    def listener_for(self, studio_id: str) -> Callable[[RtpPacket], None]:
        """The feed listener that brings a studio's sound into the program."""

        def listen(packet: RtpPacket) -> None:
            self.audio.on_packet(studio_id, packet)

        return listen

    def watch(self, studio_id: str, track: MediaStreamTrack) -> None:
        """Show `track` (a decoded video track) as the studio's picture from now on."""
        old = self._readers.pop(studio_id, None)
        if old is not None:
            old.cancel()
        self._readers[studio_id] = asyncio.ensure_future(self._read(studio_id, track))

    async def _read(self, studio_id: str, track: MediaStreamTrack) -> None:
        try:
            while True:
                frame = await track.recv()
                if isinstance(frame, av.VideoFrame):  # a decoded video track gives nothing else
                    self._show(studio_id, frame)
        except MediaStreamError:
            self._show(studio_id, None)  # the connection ended: show the slate

    def _show(self, studio_id: str, frame: av.VideoFrame | None) -> None:
        # The index is looked up each time: studios joining or leaving the room move it.
        if studio_id in self.studio_ids:
            self.engine.update(self.studio_ids.index(studio_id), frame)

    def add_studio(self, studio_id: str, label: str) -> None:
        """Give a studio added to the room a place in the program (last; its slate until its
        first picture) and its sound in the mix."""
        if studio_id in self.studio_ids:
            return
        frames = [self.engine.latest.get(i) for i in range(len(self.studio_ids))]
        self.studio_ids.append(studio_id)
        self.engine.set_sources([*self.engine.labels, label], [*frames, None])
        self.graphics.set_order(self.studio_ids)
        self.audio.add_studio(studio_id)

    def remove_studio(self, studio_id: str) -> None:
        """Take a studio out of the program's picture and sound from the next frame.

        The others keep their places in order; a solo or picture-in-picture of the studio
        that left becomes `auto`, since no one else was chosen to fill the screen.
        """
        if studio_id not in self.studio_ids:
            return
        reader = self._readers.pop(studio_id, None)
        if reader is not None:
            reader.cancel()
        engine, ids = self.engine, self.studio_ids
        focused = ids[engine.focus] if 0 <= engine.focus < len(ids) else None
        keep = [i for i, sid in enumerate(ids) if sid != studio_id]
        self.studio_ids = [ids[i] for i in keep]
        engine.set_sources([engine.labels[i] for i in keep], [engine.latest.get(i) for i in keep])
        self.graphics.set_order(self.studio_ids)
        if focused == studio_id:
            engine.switch("auto" if engine.layout in STUDIO_LAYOUTS else engine.layout, 0)
        elif focused is not None:
            engine.switch(engine.layout, self.studio_ids.index(focused))
        self.audio.remove_studio(studio_id)

    def lost(self, studio_id: str) -> None:
        """The studio's feed is lost: show its slate instead of a frozen picture."""
        if studio_id in self.studio_ids:
            self.engine.update(self.studio_ids.index(studio_id), None)

    def switch(self, layout: str, studio_id: str | None = None) -> None:
        """Change the program layout; `studio_id` is the solo or main picture-in-picture one."""
        focus = self.studio_ids.index(studio_id) if studio_id in self.studio_ids else 0
        self.engine.switch(layout, focus)

    def on_program(self, studio_id: str) -> bool:
        """Whether the studio's picture is in the program now (its tally light)."""
        if studio_id not in self.studio_ids:
            return False
        fmt = self.engine.fmt
        tiles = tiles_for(
            self.engine.layout, len(self.studio_ids), fmt.width, fmt.height, self.engine.focus
        )
        return tiles[self.studio_ids.index(studio_id)] is not None

    def start_recording(self, directory: Path) -> None:
        """Record the program into `directory` (a no-op while already recording)."""
        if self.recording is None:
            self.recording = Recording(self.engine, self.audio, directory)

    async def stop_recording(self) -> RecordedFile | None:
        """Stop recording and return the finalized file (None when not recording)."""
        recording, self.recording = self.recording, None
        if recording is None:
            return None
        return await recording.finish()

    async def suspend_recording(self) -> None:
        """Stop recording without finalizing (see Recording.suspend)."""
        recording, self.recording = self.recording, None
        if recording is not None:
            await recording.suspend()

    async def close(self) -> RecordedFile | None:
        """Stop everything; returns the recording finalized on the way, if any."""
        if self.outputs is not None:  # while the engines run: each ends its stream cleanly
            await self.outputs.close()
        finished = await self.stop_recording()
        for task in self._readers.values():
            task.cancel()
        self._readers.clear()
        await self.engine.stop()
        await self.audio.stop()
        return finished
