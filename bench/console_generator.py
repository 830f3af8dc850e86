"""The consoles of bench/rooms_per_node.py: a load generator, one process of a few rooms.

Each studio is one aiortc peer connection like a console: it replays a pre-encoded VP8 + Opus
file (`harness/vp8_file.py`) without encoding anything, and counts what it receives (its
partner and, in composed rooms, the program back) as the RTP arrives, through the bridge's
own receiver tap: a frame when its last packet (RTP marker) arrives, a loss when a sequence
number never does. The relay is Telebridge (the bench's own signalling in front of a
`bridge.room.Room`) or Janus's VideoRoom (`bench/janus_relay.py`). The process takes its
commands (join, reset, report, stop) over a pipe from the orchestrator.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from bench.janus_relay import JanusClient
from bench.packet_loss import lose_every
from harness.peer_close import close_peer

FLOWING_TIMEOUT_S = 30.0  # for a joined room's streams to bring their first frames


def percentile(values: list[float], q: float) -> float:
    """The `q` quantile of `values` (nearest rank; 0.0 when there are none)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


class StreamCounter:
    """A received RTP stream counted as it arrives: nothing is decoded or reassembled."""

    def __init__(self) -> None:
        self.frames_total = 0
        self.packets_total = 0
        self._max_ext: int | None = None
        self._last_frame_at: float | None = None
        self.reset()

    def reset(self) -> None:
        """Start a measuring window."""
        self.since = time.monotonic()
        self.seqs: set[int] = set()
        self.frames: set[int] = set()
        self.bytes = 0
        self.gap_max_s = 0.0

    def _extend(self, sequence_number: int) -> int:
        if self._max_ext is None:
            self._max_ext = sequence_number
            return sequence_number
        ext = (self._max_ext & ~0xFFFF) | sequence_number
        if ext - self._max_ext > 0x8000:
            ext -= 0x10000
        elif self._max_ext - ext > 0x8000:
            ext += 0x10000
        self._max_ext = max(self._max_ext, ext)
        return ext

    def on_packet(self, packet: Any) -> None:
        """The receiver tap's callback (RTX already unwrapped)."""
        self.seqs.add(self._extend(packet.sequence_number))
        self.bytes += len(packet.payload)
        self.packets_total += 1
        if packet.marker and packet.timestamp not in self.frames:
            now = time.monotonic()
            self.frames.add(packet.timestamp)
            self.frames_total += 1
            if self._last_frame_at is not None:
                self.gap_max_s = max(self.gap_max_s, now - self._last_frame_at)
            self._last_frame_at = now

    def figures(self) -> dict[str, float]:
        """Frames and packets per second, loss and the longest wait between two frames."""
        elapsed = max(1e-6, time.monotonic() - self.since)
        expected = max(self.seqs) - min(self.seqs) + 1 if self.seqs else 0
        return {
            "fps": len(self.frames) / elapsed,
            "pps": len(self.seqs) / elapsed,
            "loss": 1.0 - len(self.seqs) / expected if expected else 1.0,
            "gap": self.gap_max_s,
            "kbps": self.bytes * 8 / 1000 / elapsed,
        }


def _video_codecs(*mime_types: str) -> list[Any]:
    from aiortc import RTCRtpSender

    codecs = RTCRtpSender.getCapabilities("video").codecs
    chosen = [c for m in mime_types for c in codecs if c.mimeType.lower() == m.lower()]
    return chosen + [c for c in codecs if c.mimeType.lower() == "video/rtx"]


def _peer() -> Any:
    from aiortc import RTCBundlePolicy, RTCConfiguration, RTCPeerConnection

    return RTCPeerConnection(
        RTCConfiguration(iceServers=[], bundlePolicy=RTCBundlePolicy.MAX_BUNDLE)
    )


async def _read_frames(track: Any) -> None:
    """Read a decoded track for ever (an unread one leaks memory: DESIGN.md)."""
    from aiortc.mediastreams import MediaStreamError

    with contextlib.suppress(MediaStreamError):
        while True:
            await track.recv()


@dataclass
class Studio:
    """One studio of a generated room: what it sends, and counters of what it receives."""

    room: str
    studio: str
    clock: Any
    peers: list[Any] = field(default_factory=list)
    counters: dict[str, StreamCounter] = field(default_factory=dict)  # "partner/video", ...

    def flowing(self) -> bool:
        """Every stream it receives has brought a few frames (audio: packets)."""
        return bool(self.counters) and all(
            (c.frames_total if key.endswith("video") else c.packets_total) >= 5
            for key, c in self.counters.items()
        )

    def reset(self) -> None:
        self.clock.reset()
        for counter in self.counters.values():
            counter.reset()

    def report(self) -> dict[str, Any]:
        late = self.clock.late
        return {
            "room": self.room,
            "studio": self.studio,
            "late_max": self.clock.late_max_s,
            "late_p95": percentile(late, 0.95),
            **{key: c.figures() for key, c in self.counters.items()},
        }


class Generator:
    """The consoles of some rooms, in one process: Telebridge or Janus as the relay."""

    def __init__(
        self, streams: dict[str, Any], backend: str, url: str, decode: bool, loss_every: int = 0
    ) -> None:
        self.streams = streams
        self.backend = backend
        self.url = url
        self.decode = decode
        self.loss_every = loss_every  # a console's link loses every Nth packet each way
        self.studios: list[Studio] = []
        self.http: Any = None
        self.janus: JanusClient | None = None
        self.readers: list[asyncio.Task[None]] = []

    def _tap(self, transceiver: Any) -> StreamCounter:
        """Count what `transceiver` receives; decode its video only with --decode."""
        from bridge.aiortc_hooks import tap_receiver

        counter = StreamCounter()
        decode = self.decode and transceiver.kind == "video"
        tap_receiver(transceiver.receiver, counter.on_packet, decode=decode)
        if decode:
            self.readers.append(asyncio.ensure_future(_read_frames(transceiver.receiver.track)))
        return counter

    def _impair(self, pc: Any) -> None:
        if self.loss_every:
            lose_every(pc, self.loss_every)

    async def open(self) -> None:
        import aiohttp

        self.http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60))
        if self.backend == "janus":
            self.janus = JanusClient(self.url)
            await self.janus.open()

    def _sending_peer(self, studio: Studio, direction: str) -> Any:
        from harness.vp8_file import ReplayTrack

        pc = _peer()
        camera = pc.addTransceiver(ReplayTrack(self.streams["video"], studio.clock), direction)
        camera.setCodecPreferences(_video_codecs("video/VP8"))
        pc.addTransceiver(ReplayTrack(self.streams["audio"], studio.clock), direction)
        studio.peers.append(pc)
        return pc

    async def join_telebridge(self, room: str, program: bool) -> list[Studio]:
        from aiortc import RTCSessionDescription

        from harness.vp8_file import ReplayClock

        async def console(studio_id: str) -> Studio:
            studio = Studio(room, studio_id, ReplayClock())
            pc = self._sending_peer(studio, "sendrecv")
            for _ in range(2 if program else 1):  # the partner's pair, then the program's
                pc.addTransceiver("video", direction="recvonly").setCodecPreferences(
                    _video_codecs("video/VP8", "video/H264")
                )
                pc.addTransceiver("audio", direction="recvonly")
            await pc.setLocalDescription(await pc.createOffer())
            by_mid = {
                t.mid: self._tap(t) for t in pc.getTransceivers() if t.direction == "recvonly"
            }
            async with self.http.post(
                f"{self.url}/rooms/{room}/{studio_id}", data=pc.localDescription.sdp
            ) as response:
                response.raise_for_status()
                joined = await response.json()
            await pc.setRemoteDescription(RTCSessionDescription(joined["answer"], "answer"))
            self._impair(pc)
            for _partner, video_mid, audio_mid in joined["slots"]:
                studio.counters["partner/video"] = by_mid[video_mid]
                studio.counters["partner/audio"] = by_mid[audio_mid]
            if joined["program"]:
                video_mid, audio_mid = joined["program"]
                studio.counters["program/video"] = by_mid[video_mid]
                studio.counters["program/audio"] = by_mid[audio_mid]
            return studio

        return list(await asyncio.gather(console("a"), console("b")))

    async def join_janus(self, room: str) -> list[Studio]:
        from aiortc import RTCSessionDescription

        from harness.vp8_file import ReplayClock

        janus = self.janus
        assert janus is not None
        number = 1000 + int(room.lstrip("j"))
        await janus.create_room(number)
        studios = [Studio(room, s, ReplayClock()) for s in ("a", "b")]
        feeds: dict[str, int] = {}
        for studio in studios:
            pc = self._sending_peer(studio, "sendonly")
            await pc.setLocalDescription(await pc.createOffer())
            feed, answer = await janus.publish(number, studio.studio, pc.localDescription.sdp)
            await pc.setRemoteDescription(RTCSessionDescription(answer, "answer"))
            self._impair(pc)
            feeds[studio.studio] = feed
        for studio, partner in zip(studios, reversed(studios), strict=True):
            handle, offer = await janus.subscribe(number, feeds[partner.studio])
            pc = _peer()
            studio.peers.append(pc)
            await pc.setRemoteDescription(RTCSessionDescription(offer, "offer"))
            for t in pc.getTransceivers():
                studio.counters[f"partner/{t.kind}"] = self._tap(t)
            await pc.setLocalDescription(await pc.createAnswer())
            self._impair(pc)
            await janus.start(handle, pc.localDescription.sdp)
        return studios

    async def handle(self, command: tuple[Any, ...]) -> Any:
        kind = command[0]
        if kind == "join":
            _, room, program = command
            started = time.monotonic()
            if self.backend == "janus":
                studios = await self.join_janus(room)
            else:
                studios = await self.join_telebridge(room, program)
            self.studios += studios
            deadline = time.monotonic() + FLOWING_TIMEOUT_S
            while not all(s.flowing() for s in studios):
                if time.monotonic() > deadline:
                    silent = [
                        f"{s.studio}:{k}"
                        for s in studios
                        for k, c in s.counters.items()
                        if c.packets_total == 0
                    ]
                    return ("error", f"room {room}: nothing received on {silent or 'some'}")
                await asyncio.sleep(0.1)
            return ("ok", time.monotonic() - started)
        if kind == "reset":
            for studio in self.studios:
                studio.reset()
            return ("ok",)
        if kind == "report":
            return ("ok", [s.report() for s in self.studios])
        if kind == "stop":
            for reader in self.readers:
                reader.cancel()
            await asyncio.gather(*(close_peer(pc) for s in self.studios for pc in s.peers))
            if self.janus is not None:
                await self.janus.close()
            await self.http.close()
            return ("ok",)
        return ("error", f"unknown command {kind}")


def generator_main(
    conn: Connection, media: str, backend: str, url: str, decode: bool, loss_every: int = 0
) -> None:
    """A generator process: takes commands from `conn` until "stop"."""
    asyncio.run(_generate(conn, Path(media), backend, url, decode, loss_every))


async def _generate(
    conn: Connection, media: Path, backend: str, url: str, decode: bool, loss_every: int
) -> None:
    from harness.vp8_file import read_packets

    generator = Generator(read_packets(media), backend, url, decode, loss_every)
    await generator.open()
    loop = asyncio.get_running_loop()
    while True:
        command = await loop.run_in_executor(None, conn.recv)
        try:
            reply = await generator.handle(command)
        except Exception as exc:  # the orchestrator prints it and stops the ramp
            reply = ("error", f"{type(exc).__name__}: {exc}")
        conn.send(reply)
        if command[0] == "stop":
            return
