"""One room per booking: the studios' sessions, their feeds wired to each other, a watchdog.

The room outlives any single connection: a studio that reloads or drops gets a new session,
and its partners' slots simply switch to its new feeds.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from aiortc import RTCRtpSender

from bridge.cancelling import cancel_and_wait
from bridge.control import ControlConnections
from bridge.errors import RoomClosed, UnknownStudio
from bridge.outputs.base import ProgramSource
from bridge.outputs.manager import Outputs
from bridge.program.audio import ProgramAudio
from bridge.program.demand import LINGER_S
from bridge.program.engine import ProgramEngine
from bridge.program.graphics import Graphics
from bridge.program.layout import LAYOUTS, STUDIO_LAYOUTS
from bridge.program.production import Production
from bridge.program.return_feed import ReturnFeed
from bridge.recording.iso import IsoRecording
from bridge.relay.fanout import Feed
from bridge.room_health import (
    FEED_LOST_AFTER,
    jpeg_of,
    program_figures,
    studio_audio,
    studio_health,
)
from bridge.room_recording import RoomRecording
from bridge.session import Joined, StudioSession
from bridge.spec import (
    EventKind,
    GraphicsState,
    OutputFigures,
    OutputState,
    OutputTarget,
    ProgramState,
    RecordedFile,
    RoomEvent,
    RoomHealth,
    RoomSpec,
    StudioAudio,
    StudioSpec,
    Tally,
)

log = logging.getLogger("telebridge.bridge.room")

WATCHDOG_INTERVAL = 0.25

EventSink = Callable[[RoomEvent], None]


class Room:
    """A live telebridge: up to six studios relayed to each other, packet by packet."""

    def __init__(
        self,
        spec: RoomSpec,
        on_event: EventSink | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        program_linger: float = LINGER_S,
    ) -> None:
        self.spec = spec
        self._on_event = on_event or (lambda _e: None)
        self._monotonic = monotonic
        self.sessions: dict[str, StudioSession] = {}
        self.feeds: dict[tuple[str, str], Feed] = {}
        self.lost: set[str] = set()
        self.closed = False
        self.production: Production | None = None
        self.control = ControlConnections(self)  # the producers' multiview and talkback
        self._connecting: dict[str, asyncio.Lock] = {}  # one offer of a studio at a time
        # Studios whose console put the program away: their return feed stays paused, also
        # across reconnects, and costs the room no picture (bridge.program.demand).
        self._program_hidden: set[str] = set()
        if spec.program:
            self.production = Production(
                [s.id for s in spec.studios],
                [s.name for s in spec.studios],
                outputs=self._outputs_of,
                linger=program_linger,  # the picture stops this long after its last user
            )
            self.production.switch(spec.layout if spec.layout in LAYOUTS else "auto")
            self.production.start()
        # The program's file and every studio's own (ISO), on one timeline.
        self.recording = RoomRecording(self.production, self.feeds, self._emit)
        self._watchdog = asyncio.ensure_future(self._watch())

    def _emit(self, kind: EventKind, studio_id: str, /, **details: object) -> None:
        event = RoomEvent(self.spec.booking_id, kind, studio_id, datetime.now(UTC), details)
        log.info(
            "%s booking=%s studio=%s %s", kind.value, self.spec.booking_id, studio_id, details or ""
        )
        self._on_event(event)

    async def connect(self, studio_id: str, offer_sdp: str) -> Joined:
        """Answer a studio's offer; a second connection for a studio replaces the first.

        One studio's offers are taken one at a time: a replacement waits for the connection it
        replaces to close before it wires its feeds, and an offer answered meanwhile would
        otherwise wire its own first and then lose them to the older one.
        """
        lock = self._connecting.setdefault(studio_id, asyncio.Lock())
        async with lock:
            return await self._connect(studio_id, offer_sdp)

    async def _connect(self, studio_id: str, offer_sdp: str) -> Joined:
        if self.closed:
            raise RoomClosed(f"The room of booking {self.spec.booking_id} is closed")
        if self.spec.studio(studio_id) is None:
            raise UnknownStudio(f'Studio "{studio_id}" is not part of this telebridge')
        session = StudioSession(
            self.spec,
            studio_id,
            self._session_closed,
            self._return_feed if self.production is not None else None,
        )
        try:
            answer = await session.answer(offer_sdp)
        except BaseException:
            await session.close()
            raise
        if self.closed or self.spec.studio(studio_id) is None:
            # Removed from the booking (or the room closed) while its offer was answered.
            await session.close()
            raise UnknownStudio(f'Studio "{studio_id}" is not part of this telebridge')
        old = self.sessions.get(studio_id)
        self.sessions[studio_id] = session
        if old is not None:
            await old.close()
        for kind, feed in session.feeds.items():
            previous = self.feeds.get((studio_id, kind))
            self.feeds[(studio_id, kind)] = feed
            if previous is not None:  # recorders follow the studio to its new connection
                feed.listeners.extend(previous.listeners)
                previous.listeners.clear()
            else:  # the studio's first connection: its feed's listeners start here
                self.recording.first_feed(studio_id, kind, feed)
                if kind == "audio" and self.production is not None:
                    feed.listeners.append(self.production.listener_for(studio_id))
            if kind == "video":
                self.recording.follow(studio_id, feed)
            for slot in list(previous.slots) if previous else []:
                feed.attach(slot)
            for other in [*self.sessions.values(), *self.control.sessions.values()]:
                for slot in other.slots:
                    if slot.studio_id == studio_id and slot.kind == kind and slot.feed is None:
                        feed.attach(slot)
        for slot in session.slots:
            source = self.feeds.get((slot.studio_id, slot.kind))
            if source is not None:
                source.attach(slot)
        video = session.receivers.get("video")
        if self.production is not None and video is not None:
            self.production.watch(studio_id, video.track)
        self._emit(EventKind.STUDIO_JOINED, studio_id, replaced=old is not None)
        return Joined(answer, session.session_id, session.slot_info, session.program_info)

    def _return_feed(
        self, studio_id: str, video: RTCRtpSender | None, audio: RTCRtpSender | None
    ) -> ReturnFeed:
        assert self.production is not None
        shown = studio_id not in self._program_hidden
        return self.production.return_feed(studio_id, video, audio, shown)

    def show_program(self, studio_id: str, shown: bool) -> None:
        """The studio's console shows the program (its return feed), or put it away."""
        if self.production is None or self.spec.studio(studio_id) is None:
            raise UnknownStudio(f'Studio "{studio_id}" is not part of this program')
        if shown:
            self._program_hidden.discard(studio_id)
        else:
            self._program_hidden.add(studio_id)
        session = self.sessions.get(studio_id)
        if session is not None:
            session.show_program(shown)

    def program_shown(self, studio_id: str) -> bool:
        """Whether the studio's console takes the program back (False without a program)."""
        return self.production is not None and studio_id not in self._program_hidden

    def _session_closed(self, session: StudioSession) -> None:
        if self.sessions.get(session.studio_id) is not session:
            return  # replaced by a newer connection: the studio is still here
        # The studio's feeds stay in self.feeds: partners' slots stay wired to them, silent,
        # until the studio returns and its new feeds take the slots over.
        del self.sessions[session.studio_id]
        self._emit(EventKind.STUDIO_LEFT, session.studio_id)

    def add_studio(self, studio: StudioSpec) -> bool:
        """Let a studio added to the booking join now; False when it is already in the room.

        It takes the program's last place (its slate until its first picture) and, while the
        room records, gets its own ISO on the recording's timeline. Partners already connected
        get slots for it when they next offer (the console does once its tally names it).
        """
        if self.closed:
            raise RoomClosed(f"The room of booking {self.spec.booking_id} is closed")
        if self.spec.studio(studio.id) is not None:
            return False
        self.spec = replace(self.spec, studios=(*self.spec.studios, studio))
        if self.production is not None:
            self.production.add_studio(studio.id, studio.name)
            self.recording.add_studio(studio.id)  # its feed's first connection attaches it
        log.info("studio added booking=%s studio=%s", self.spec.booking_id, studio.id)
        return True

    async def remove_studio(self, studio_id: str) -> bool:
        """Take a studio out at once (the booking no longer has it); False when it was not in
        the room.

        Its connection closes, its feeds leave its partners' slots, the program and the mix,
        and its ISO stops (the segments stay: stop_recording finalizes them with the others);
        it cannot connect again. Partners' slots that showed it stay on their connections,
        idle, until they next offer.
        """
        if self.spec.studio(studio_id) is None:
            return False
        # First, so that no new connection of it is taken from here on (see connect).
        self.spec = replace(
            self.spec, studios=tuple(s for s in self.spec.studios if s.id != studio_id)
        )
        if self.production is not None:  # out of the picture before its slate could show
            self.production.remove_studio(studio_id)
        session = self.sessions.get(studio_id)
        if session is not None:
            await session.close()  # reports studio_left
        for kind in ("video", "audio"):
            feed = self.feeds.pop((studio_id, kind), None)
            if feed is not None:  # a connection gone before: its feed still holds the slots
                for slot in list(feed.slots):
                    feed.detach(slot)
                feed.listeners.clear()
        self.lost.discard(studio_id)
        await self.recording.remove_studio(studio_id)
        log.info("studio removed booking=%s studio=%s", self.spec.booking_id, studio_id)
        return True

    async def disconnect(self, studio_id: str, session_id: str | None = None) -> bool:
        """End a studio's connection (WHIP DELETE, Leave); False when it was not connected."""
        session = self.sessions.get(studio_id)
        if session is None or (session_id is not None and session.session_id != session_id):
            return False
        await session.close()
        return True

    async def _watch(self) -> None:
        """Notice a lost feed within FEED_LOST_AFTER (aiortc alone takes about 30 s)."""
        while not self.closed:
            now = self._monotonic()
            for studio in self.spec.studios:
                silent = self.silent_for(studio.id, now)
                if silent is None:
                    continue
                if silent > FEED_LOST_AFTER and studio.id not in self.lost:
                    self.lost.add(studio.id)
                    if self.production is not None:
                        self.production.lost(studio.id)
                    self._emit(EventKind.FEED_LOST, studio.id, silent_s=round(silent, 2))
                elif silent <= FEED_LOST_AFTER and studio.id in self.lost:
                    self.lost.discard(studio.id)
                    self._emit(EventKind.FEED_RESTORED, studio.id)
            await asyncio.sleep(WATCHDOG_INTERVAL)

    def silent_for(self, studio_id: str, now: float) -> float | None:
        """Seconds since the studio's last packet (its picture's, else its sound's); None
        before its first."""
        feed = self.feeds.get((studio_id, "video")) or self.feeds.get((studio_id, "audio"))
        if feed is None or feed.meter.last_arrival is None:
            return None
        return now - feed.meter.last_arrival

    def switch_program(self, layout: str, studio_id: str | None = None) -> None:
        """Put another layout (or solo studio) on air from the next program frame."""
        if self.production is None:
            raise RoomClosed("This room composes no program")
        self.production.switch(layout, studio_id)
        self._emit(EventKind.PROGRAM_SWITCHED, studio_id or "", layout=layout)

    def set_audio(self, studio_id: str, gain_db: float, muted: bool) -> None:
        """The producer's gain (dB, clamped to the mixer's GAIN_MIN_DB..GAIN_MAX_DB) and mute of
        a studio in the program."""
        if self.production is None:
            raise RoomClosed("This room composes no program")
        if self.spec.studio(studio_id) is None:
            raise UnknownStudio(f'Studio "{studio_id}" is not part of this telebridge')
        self.production.audio.set_gain(studio_id, gain_db, muted)
        self._emit(EventKind.AUDIO_CHANGED, studio_id, gain_db=gain_db, muted=muted)

    def set_microphone(self, studio_id: str, off: bool) -> None:
        """The studio's operator switched its microphone off (or on again) at the console."""
        if self.production is None or self.spec.studio(studio_id) is None:
            raise UnknownStudio(f'Studio "{studio_id}" is not part of this program')
        self.production.audio.mixer.channels[studio_id].mic_off = off
        self._emit(EventKind.AUDIO_CHANGED, studio_id, mic_off=off)

    def audio_state(self) -> dict[str, StudioAudio]:
        """Per studio: gain, mute, automatic gain, level and microphone key (the desk's)."""
        return studio_audio(self.production)

    @property
    def program_state(self) -> ProgramState | None:
        """What is on air: the layout, its solo or picture-in-picture studio (None for the
        other layouts), and whether the program is recording; None without a program."""
        production = self.production
        if production is None:
            return None
        layout = production.engine.layout
        focus = production.engine.focus
        studio = None
        if layout in STUDIO_LAYOUTS and 0 <= focus < len(production.studio_ids):
            studio = production.studio_ids[focus]
        return ProgramState(layout, studio, production.recording is not None)

    async def start_output(self, target: OutputTarget, hls_dir: Path | None = None) -> None:
        """Take the program out live to `target` (HLS into `hls_dir`); a no-op while that
        output runs. Connecting and retrying happen behind it (OUTPUT_CHANGED events)."""
        outputs = self.production.outputs if self.production is not None else None
        if outputs is None or self.closed:
            raise RoomClosed("This room composes no program to send out")
        await outputs.start(target, hls_dir)

    async def stop_output(self, output_id: str) -> bool:
        """Stop a live output; False when the room has none of that id."""
        outputs = self.production.outputs if self.production is not None else None
        return await outputs.stop(output_id) if outputs is not None else False

    def _outputs_of(self, engine: ProgramEngine, audio: ProgramAudio) -> Outputs:
        return Outputs(ProgramSource(engine, audio), self._output_changed)

    def _output_changed(self, figures: OutputFigures) -> None:
        self._emit(
            EventKind.OUTPUT_CHANGED,
            "",
            output_id=figures.id,
            kind=figures.kind.value,
            state=figures.state.value,
            last_error=figures.last_error,
        )

    async def live_snapshot(self) -> RoomHealth:
        """Every studio's health over the last window (call it about once a second: each call
        starts the next window), plus the program's and the recorders' figures."""
        now = self._monotonic()
        studios = [await studio_health(self, s.id, s.name, now) for s in self.spec.studios]
        return RoomHealth(
            self.spec.booking_id,
            tuple(studios),
            program_figures(self.production),
            self.recording.figures(),
            outputs=self.output_figures(),
        )

    def has_session(self, studio_id: str, session_id: str) -> bool:
        """Whether that connection is the studio's connection to this room now."""
        session = self.sessions.get(studio_id)
        return session is not None and session.session_id == session_id

    def in_use(self) -> bool:
        """Whether closing the room now would cut someone off: a studio or a control room
        connected, or an output under way to its audience."""
        going = (OutputState.CONNECTING, OutputState.LIVE, OutputState.RETRYING)
        return bool(
            self.sessions
            or self.control.sessions
            or any(f.state in going for f in self.output_figures())
        )

    def output_figures(self) -> tuple[OutputFigures, ...]:
        """The live outputs' states, the ended ones included (none without a program)."""
        outputs = self.production.outputs if self.production is not None else None
        return outputs.figures() if outputs is not None else ()

    async def thumbnail(self, studio_id: str, width: int = 320) -> bytes | None:
        """A JPEG of the studio's newest decoded picture (None before its first one)."""
        if self.production is None or studio_id not in self.production.studio_ids:
            return None
        index = self.production.studio_ids.index(studio_id)
        return await self.production.engine.with_latest(index, lambda f: jpeg_of(f, width))

    def tally(self, studio_id: str) -> Tally:
        """What a studio's console shows: is its picture in the program, is the room recording,
        who its partners are now."""
        partners = tuple(s for s in self.spec.studios if s.id != studio_id)
        session = self.sessions.get(studio_id)
        unplayable = {
            slot.studio_id: slot.unplayable_codec.label
            for slot in (session.slots if session is not None else [])
            if slot.unplayable_codec is not None
        }
        production = self.production
        if production is None:
            return Tally(False, None, False, partners, unplayable)
        return Tally(
            on_program=production.on_program(studio_id),
            layout=production.engine.layout,
            recording=self.recording.running,
            partners=partners,
            unplayable=unplayable,
        )

    @property
    def isos(self) -> dict[str, IsoRecording]:
        """Each studio's own recording while the room records, by studio id."""
        return self.recording.isos

    def start_recording(self, directory: Path) -> bool:
        """Record the program and each studio's feed into `directory`; False when already
        recording."""
        if self.closed:
            raise RoomClosed("This room composes no program to record")
        return self.recording.start(directory, [s.id for s in self.spec.studios])

    async def suspend_recording(self) -> None:
        """Stop writing without finalizing: a restart mid-show continues the same recording."""
        await self.recording.suspend()

    async def stop_recording(self) -> list[RecordedFile]:
        """Stop recording; the finalized files: the program and each studio's ISO."""
        return await self.recording.stop()

    async def close(self) -> None:
        """Close every connection, finish any recording, and stop the watchdog."""
        self.closed = True
        await cancel_and_wait(self._watchdog)
        for session in list(self.sessions.values()):
            await session.close()
        await self.control.close()
        if self.production is not None:
            if self.recording.running:
                await self.stop_recording()
            await self.production.close()

    # The program's graphics (bridge.program.graphics): on air from the next frame, fading.

    def _graphics(self) -> Graphics:
        if self.production is None:
            raise RoomClosed("This room composes no program")
        return self.production.graphics

    def set_lower_third(self, studio_id: str, name: str, title: str, visible: bool) -> None:
        """Show (or hide) a studio's lower third with this text, over its picture."""
        graphics = self._graphics()
        if self.spec.studio(studio_id) is None:
            raise UnknownStudio(f'Studio "{studio_id}" is not part of this telebridge')
        graphics.set_lower_third(studio_id, name, title, visible)

    async def set_logo(self, png: bytes | None, corner: str = "top-right") -> None:
        """Show the logo (a PNG, checked by the caller) in `corner`; None hides it."""
        await self._graphics().set_logo(png, corner)

    def set_clock(self, zone: str | None, label: str = "") -> None:
        """Show a clock of IANA `zone` labelled `label` (a city); None hides it."""
        self._graphics().set_clock(zone, label)

    def graphics_state(self) -> GraphicsState | None:
        """What the program's graphics show now; None for a room without a program."""
        return self.production.graphics.state() if self.production is not None else None
