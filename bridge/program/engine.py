"""The joint program: a fixed frame clock composes the studios' latest frames and encodes once.

The frame clock (program.clock) keeps time on the event loop; composing and encoding happen on
its one worker thread, in order, and a tick that finds the worker busy is dropped and counted,
never queued. The encoded packets go to every subscriber (recorder, return feed, outputs)
through bounded queues that drop the oldest packet when a subscriber is slow.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from typing import TYPE_CHECKING, Any, TypeVar

import av
from av.video.frame import PictureType

from bridge.program.clock import TickClock
from bridge.program.compositor import Compositor, Source
from bridge.program.demand import LINGER_S, Claim, ProgramDemand
from bridge.program.graphics import Graphics, Scene

if TYPE_CHECKING:
    EncodedPacket = av.Packet[Any]  # PyAV's stubs make packets generic over their stream
else:
    EncodedPacket = av.Packet


SUBSCRIBER_QUEUE_PACKETS = 300  # 10 s of 30 fps video


@dataclass(frozen=True)
class ProgramFormat:
    """The program's picture and its H.264 encoding."""

    width: int = 1280
    height: int = 720
    fps: int = 30
    kbps: int = 4000
    # x264's superfast: 42 % less CPU than veryfast for 0.9 dB less luma PSNR at 4 Mb/s (43.5
    # against 44.4 dB; bench/program_preset.py), and the encode is the largest single cost of
    # a composed room, so a node carries more of them.
    preset: str = "superfast"
    gop_seconds: float = 2.0  # a keyframe every 2 s: where recordings can be cut and joined


@dataclass
class ProgramCounters:
    """What the program engine has done; the monitor reads these."""

    frames: int = 0
    packets: int = 0
    bytes: int = 0
    busy_seconds: float = 0.0  # worker time spent composing and encoding
    started_at: float = field(default_factory=time.monotonic)

    def realtime_factor(self, fps: int) -> float:
        """Worker seconds per second of program (below 1.0: faster than real time)."""
        span = self.frames / fps
        return self.busy_seconds / span if span else 0.0


def make_encoder(fmt: ProgramFormat) -> av.VideoCodecContext:
    """An H.264 encoder for low delay: no B-frames, a fixed GOP, constant-ish bitrate."""
    codec = av.CodecContext.create("libx264", "w")
    assert isinstance(codec, av.VideoCodecContext)
    codec.width, codec.height = fmt.width, fmt.height
    codec.pix_fmt = "yuv420p"
    codec.time_base = Fraction(1, fmt.fps)
    codec.framerate = Fraction(fmt.fps, 1)
    codec.bit_rate = fmt.kbps * 1000
    codec.gop_size = int(fmt.gop_seconds * fmt.fps)
    codec.max_b_frames = 0
    codec.options = {
        "preset": fmt.preset,
        "tune": "zerolatency",
        "maxrate": str(fmt.kbps * 1000),
        "bufsize": str(fmt.kbps * 1000),
        "sc_threshold": "0",  # keyframes only on the GOP boundary: predictable segments
        "forced-idr": "1",  # a forced keyframe (new recording, new viewer) is a real IDR
    }
    codec.open()
    return codec


# The picture's worker runs below the sound's: short of CPU, a skipped frame is hardly seen,
# a hole in the sound is heard by every partner and every viewer.
PICTURE_NICE = 5

PacketSink = Callable[[EncodedPacket], None]
T = TypeVar("T")


class ProgramEngine:
    """Composes and encodes the program on a frame clock; fans the packets out."""

    def __init__(
        self,
        fmt: ProgramFormat | None = None,
        lost_text: str = "signal lost",
        linger: float = LINGER_S,
    ) -> None:
        self.fmt = fmt or ProgramFormat()
        self.compositor = Compositor(self.fmt.width, self.fmt.height, lost_text)
        # What the producer shows over the picture; each frame job takes its scene.
        self.graphics = Graphics(self.fmt.width, self.fmt.height)
        self.layout = "auto"
        self.focus = 0
        self.labels: list[str] = []
        self.latest: dict[int, av.VideoFrame | None] = {}
        self.counters = ProgramCounters()
        self.subscribers: list[asyncio.Queue[EncodedPacket]] = []
        # Called with every packet as it is published, on the event loop: the return feed's
        # packetizer (program.return_feed), which holds its users' claims itself.
        self.listeners: list[PacketSink] = []
        # Its one worker thread: frames are encoded in order, and one encoder is one stream.
        # A frame held up by the machine's scheduling is made late rather than dropped.
        self.clock = TickClock(
            "program",
            1 / self.fmt.fps,
            self._frame_job,
            self._publish,
            nice=PICTURE_NICE,
            wait_one=True,
        )
        # Opened on the worker, so x264's own threads share its lower priority.
        self.encoder = self.clock.call_on_worker(lambda: make_encoder(self.fmt))
        self._index = 0
        self._force_key = False
        # Composed and encoded only while subscribed to (program.demand): each subscriber
        # (a recording's or an output's tap, a return feed, a control room) holds a claim.
        self.demand = ProgramDemand(self._resume, self.clock.pause, linger)
        self._claims: dict[int, Claim] = {}

    @property
    def origin(self) -> float | None:
        """The loop time tick 0 of the frame clock belongs to (None before it starts)."""
        return self.clock.origin

    def set_sources(
        self, labels: list[str], frames: list[av.VideoFrame | None] | None = None
    ) -> None:
        """The studios in program order (their labels); frames are given by index.

        `frames` are their newest frames in that order, when studios joined or left the
        program (else each index keeps its own); on air from the next frame.
        """
        self.labels = list(labels)
        if frames is None:
            frames = [self.latest.get(i) for i in range(len(labels))]
        self.latest = dict(enumerate(frames[: len(labels)]))

    def update(self, index: int, frame: av.VideoFrame | None) -> None:
        """A studio's newest decoded frame (None: its feed is lost, show the slate)."""
        self.latest[index] = frame

    async def with_latest(self, index: int, use: Callable[[av.VideoFrame], T]) -> T | None:
        """`use(frame)` on a studio's newest frame, on the program's own thread.

        The compositor scales these very frames there, and a frame's scaler (PyAV keeps one
        per frame) is not thread-safe: a thumbnail made on another thread while the compositor
        scaled the same frame hung both threads.
        """
        frame = self.latest.get(index)
        if frame is None:
            return None
        return await self.clock.on_worker(functools.partial(use, frame))

    def switch(self, layout: str, focus: int = 0) -> None:
        """Change the layout (and the solo/pip studio); on air from the next frame."""
        self.layout, self.focus = layout, focus

    def force_keyframe(self) -> None:
        """Make the next program frame a keyframe (a new recording or viewer starts there)."""
        self._force_key = True

    def unsubscribe(self, queue: asyncio.Queue[EncodedPacket]) -> None:
        """Stop feeding a subscriber's queue (and let go of its claim on the program)."""
        if queue in self.subscribers:
            self.subscribers.remove(queue)
        claim = self._claims.pop(id(queue), None)
        if claim is not None:
            claim.release()

    def subscribe(self, user: str = "a subscriber") -> asyncio.Queue[EncodedPacket]:
        """A bounded queue that receives every encoded packet from now on; the program is
        composed (from this frame on, if it was not) until the queue is unsubscribed."""
        queue: asyncio.Queue[EncodedPacket] = asyncio.Queue(maxsize=SUBSCRIBER_QUEUE_PACKETS)
        self.subscribers.append(queue)
        self._claims[id(queue)] = self.demand.claim(user)
        return queue

    @property
    def composing(self) -> bool:
        """Whether the picture is being composed and encoded now (someone uses it)."""
        return self.clock.ticking

    def start(self, origin: float | None = None) -> None:
        """Start the frame clock; tick 0 is at loop time `origin` (default: now). It stops
        a linger later unless subscribed to, and starts again with the first subscriber."""
        self.clock.start(origin)
        self.demand.begin()

    def _resume(self) -> None:
        """The first subscriber came: tick again from the same origin, from a keyframe."""
        self._force_key = True
        self.clock.start()

    def tick_now(self) -> int:
        """The tick the frame clock is at."""
        return self.clock.tick_now()

    async def stop(self) -> None:
        """Stop the clock, flush the encoder and release the worker."""
        self.demand.close()
        await self.clock.stop()
        self._publish(await self.clock.on_worker(self._flush))
        self.clock.close()

    def _frame_job(self, tick: int) -> Callable[[], list[EncodedPacket]]:
        """The work of a clock tick: the sources as they are now, composed on the worker."""
        sources = [Source(label, self.latest.get(i)) for i, label in enumerate(self.labels)]
        scene = self.graphics.scene()  # taken with the sources: the same studios, in order
        return functools.partial(self.render, sources, self.layout, self.focus, tick, scene)

    def render(
        self,
        sources: list[Source],
        layout: str,
        focus: int,
        tick: int | None = None,
        scene: Scene | None = None,
    ) -> list[EncodedPacket]:
        """Compose and encode one program frame for clock tick `tick` (worker thread), with
        the graphics of `scene` on it."""
        started = time.perf_counter()
        frame = self.compositor.compose(sources, layout, focus, scene)
        self._index = max(self._index, tick if tick is not None else self._index)
        frame.pts = self._index
        frame.time_base = Fraction(1, self.fmt.fps)
        if self._force_key:
            self._force_key = False
            frame.pict_type = PictureType.I
        self._index += 1
        packets = list(self.encoder.encode(frame))
        self.counters.frames += 1
        self.counters.busy_seconds += time.perf_counter() - started
        return packets

    def close(self) -> None:
        """Release the worker thread (for callers that used `render` directly)."""
        self.clock.close()

    def _flush(self) -> list[EncodedPacket]:
        return list(self.encoder.encode(None))

    def _publish(self, packets: list[EncodedPacket]) -> None:
        for packet in packets:
            self.counters.packets += 1
            self.counters.bytes += packet.size
            for listener in self.listeners:
                listener(packet)
            for queue in self.subscribers:
                if queue.full():
                    with contextlib.suppress(asyncio.QueueEmpty):
                        queue.get_nowait()  # a slow subscriber loses its oldest packet
                queue.put_nowait(packet)
