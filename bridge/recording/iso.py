"""A studio's own feed (ISO) recorded as it arrived: VP8 or H.264, and Opus, from its RTP, no
re-encoding.

The ISO recorder listens to a studio's feeds like any partner does. It puts RTP packets back
together into frames (a frame is all packets of one timestamp, ending with the marker bit;
H.264 becomes Annex B access units), drops a frame with a hole in it and everything until the
next keyframe (asking the source for one); every Opus packet is one audio frame as it is. Each
frame is stamped on the recording's timeline (milliseconds since it started) from its RTP
timestamp, anchored to the wall clock when the stream's first packet arrived, so sound and
picture keep the spacing the studio gave them, and the ISOs and the program share one timeline
even when the studio reconnects with new RTP numbers. Frames go to a segment recorder (WebM for
VP8, Matroska for H.264) on its own thread.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import av
from aiortc.rtp import RtpPacket

from bridge.recording.directory import iso_stream
from bridge.recording.recorder import AudioParams, SegmentRecorder, VideoParams
from bridge.relay.rewrite import SEQ_MOD
from bridge.video_payloads import (
    VideoCodec,
    depayload,
    frame_size,
    h264_parameter_sets,
    is_keyframe,
)

log = logging.getLogger("telebridge.bridge.recorder")

ISO_TIME_BASE = Fraction(1, 1000)  # milliseconds since the recording started
REANCHOR_MS = 500  # an RTP clock this far from the wall clock has jumped: anchor it again
SETTLE_MS = 2000  # a stream's anchor is its least delayed packet of this first stretch
ISO_KEYFRAME_S = 2.0  # a key frame asked of the studio this often while its feed is recorded
TS_MOD = 1 << 32


def opus_head(channels: int = 2, rate: int = 48000) -> bytes:
    """The OpusHead a WebM Opus track needs as its CodecPrivate (RFC 7845 section 5.1).

    WebRTC negotiates opus/48000/2 whatever the microphone; no pre-skip, since the recording
    starts in the middle of the stream.
    """
    return (
        b"OpusHead"
        + bytes([1, channels])
        + (0).to_bytes(2, "little")
        + rate.to_bytes(4, "little")
        + (0).to_bytes(2, "little")
        + bytes([0])
    )


def opus_packet_ms(payload: bytes) -> float:
    """How much sound an Opus packet holds, from its TOC byte (RFC 6716 section 3.1)."""
    if not payload:
        return 0.0
    config, code = payload[0] >> 3, payload[0] & 0x03
    if config < 12:  # SILK-only
        frame = (10.0, 20.0, 40.0, 60.0)[config % 4]
    elif config < 16:  # hybrid
        frame = (10.0, 20.0)[config % 2]
    else:  # CELT-only
        frame = (2.5, 5.0, 10.0, 20.0)[config % 4]
    if code == 0:
        frames = 1
    elif code in (1, 2):
        frames = 2
    else:  # code 3: the frame count is in the next byte
        frames = payload[1] & 0x3F if len(payload) > 1 else 1
    return frame * frames


class RtpTimeline:
    """Maps one stream's RTP timestamps to milliseconds on the recording's timeline.

    The anchor is the earliest arrival seen in the stream's first SETTLE_MS, not just its
    first packet: a first packet held up by the network or a busy loop would otherwise shift
    the whole stream (and its sound against its picture) by as much as it was late. Within
    that first stretch stamps may step back by that lateness; the recorder keeps them in order.
    """

    def __init__(self, clock_rate: int) -> None:
        self.clock_rate = clock_rate
        self._ssrc: int | None = None
        self._last_ts = 0
        self._unwrapped = 0
        self._anchor_ms = 0.0

    def stamp(self, ssrc: int, timestamp: int, arrival_ms: float) -> int:
        """The time of a packet with this RTP timestamp that arrived at `arrival_ms`."""
        if ssrc != self._ssrc:  # a new stream (reconnect): anchor at its first packet
            self._ssrc, self._last_ts, self._unwrapped = ssrc, timestamp, 0
            self._anchor_ms = arrival_ms
        else:
            delta = (timestamp - self._last_ts) % TS_MOD
            if delta >= TS_MOD // 2:
                delta -= TS_MOD  # a little older than the last one (reordered)
            self._last_ts = timestamp
            self._unwrapped += delta
        elapsed_ms = self._unwrapped * 1000 / self.clock_rate
        if 0 <= elapsed_ms < SETTLE_MS:  # the earliest arrival is the least delayed one
            self._anchor_ms = min(self._anchor_ms, arrival_ms - elapsed_ms)
        ms = self._anchor_ms + elapsed_ms
        if abs(ms - arrival_ms) > REANCHOR_MS:  # the source's clock jumped: trust arrival
            self._anchor_ms += arrival_ms - ms
            ms = arrival_ms
        return round(ms)


class FrameAssembler:
    """RTP packets of one stream in, whole frames out (or nothing while broken): VP8 bytes,
    or H.264 access units in Annex B."""

    def __init__(self, codec: VideoCodec) -> None:
        self.codec = codec
        self._timestamp: int | None = None
        self._ssrc: int | None = None
        self._parts: list[bytes] = []
        self._next_seq: int | None = None
        self._broken = False
        self._need_keyframe = True

    def add(self, packet: RtpPacket) -> tuple[bytes | None, bool]:
        """Feed one packet; (a complete frame or None, whether a keyframe is needed)."""
        if packet.ssrc != self._ssrc:  # a reconnect: a new stream, start clean
            self._ssrc, self._timestamp, self._parts = packet.ssrc, None, []
            self._next_seq, self._need_keyframe = None, True
        hole = False
        if self._next_seq is not None and packet.sequence_number != self._next_seq:
            if (packet.sequence_number - self._next_seq) % SEQ_MOD > SEQ_MOD // 2:
                return None, False  # a late retransmission of something already handled
            hole = True
        self._next_seq = (packet.sequence_number + 1) % SEQ_MOD
        if packet.timestamp != self._timestamp:
            if self._parts:  # the previous frame never got its last packet
                self._need_keyframe = True
            self._timestamp, self._parts, self._broken = packet.timestamp, [], False
        if hole:  # which frame lost the packet cannot be told: this one is not trusted
            self._broken = True
        try:
            self._parts.append(depayload(self.codec, packet.payload))
        except ValueError:
            self._broken = True
        if not packet.marker:
            return None, False
        frame, broken = b"".join(self._parts), self._broken
        self._parts, self._broken = [], False
        if broken:
            self._need_keyframe = True
            return None, True
        if self._need_keyframe and not is_keyframe(self.codec, frame):
            return None, True
        self._need_keyframe = False
        return frame, False


# How each codec's ISO is written while recording: segments a crash leaves readable, in a
# container that takes the codec and Opus as they came (WebM for VP8, Matroska for H.264).
SEGMENT_FORMATS = {
    VideoCodec.VP8: ("vp8", "webm", "webm"),
    VideoCodec.H264: ("h264", "matroska", "mkv"),
}


class IsoRecording:
    """One studio's feed recorded into WebM (VP8) or Matroska (H.264) segments in
    `directory`."""

    def __init__(
        self,
        directory: Path,
        studio_id: str,
        request_keyframe: Callable[[], None],
        monotonic: Callable[[], float] = time.monotonic,
        started: float | None = None,
        codec: VideoCodec = VideoCodec.VP8,
    ) -> None:
        """`started` is when the recording began, on `monotonic`'s clock (default: now): a
        studio added to a room that is recording joins the timeline its partners' ISOs and
        the program are on. `codec` is the studio's video as negotiated; a studio that comes
        back with another codec is recorded as a new part (the room makes a new recording)."""
        self.codec = codec
        self.studio_id = studio_id
        self.name = iso_stream(studio_id)
        self.directory = directory
        self.recorder: SegmentRecorder | None = None  # made at the first key frame (its size)
        self._assembler = FrameAssembler(codec)
        self._foreign: VideoCodec | None = None  # a codec this file cannot take, arriving now
        self._request_keyframe = request_keyframe
        self._monotonic = monotonic
        self._started = monotonic() if started is None else started
        self._last_keyframe = self._started
        self._last_pts = -1
        self._last_audio_pts = -1
        self._last_audio_rtp: int | None = None
        self._last_audio_ssrc: int | None = None
        self._video_time = RtpTimeline(90000)
        self._audio_time = RtpTimeline(48000)

    def _now_ms(self) -> float:
        return (self._monotonic() - self._started) * 1000

    def follow(self, codec: VideoCodec) -> None:
        """The studio's video comes as `codec` from now on (its connection is new).

        Before the first picture the file takes that codec. A studio that changes codec
        later (a browser console replaced by an encoder) cannot continue the same file: its
        pictures are left out until it comes back in the file's codec (its sound goes on).
        """
        if self.recorder is None:
            self.codec, self._assembler = codec, FrameAssembler(codec)
            self._foreign = None
        elif codec is not self.codec:
            log.warning(
                "studio %s now sends %s; its ISO is %s and leaves its pictures out",
                self.studio_id,
                codec.label,
                self.codec.label,
            )
            self._foreign = codec
        else:
            self._foreign = None

    def on_packet(self, packet: RtpPacket) -> None:
        """A packet of the studio's video, as it arrives (called on the event loop)."""
        if self._foreign is not None:
            return
        frame, want_key = self._assembler.add(packet)
        if want_key:
            self._request_keyframe()
        if frame is None:
            return
        keyframe = is_keyframe(self.codec, frame)
        if self.recorder is None:
            self.recorder = self._recorder(frame)
        # Browsers send a key frame only when asked: without asking, an ISO is one key frame
        # and minutes of deltas, which players seek badly in and one bad frame spoils to the
        # end. Asked every ISO_KEYFRAME_S, an ISO is seekable like the program (its GOP).
        now = self._monotonic()
        if keyframe:
            self._last_keyframe = now
        elif now - self._last_keyframe >= ISO_KEYFRAME_S:
            self._request_keyframe()  # the relay sends at most one request a second
        pts = self._video_time.stamp(packet.ssrc, packet.timestamp, self._now_ms())
        pts = max(self._last_pts + 1, pts)
        self._last_pts = pts
        out = av.Packet(frame)
        out.pts = out.dts = pts
        out.time_base = ISO_TIME_BASE
        out.is_keyframe = keyframe
        self.recorder.write(out)

    def _recorder(self, keyframe: bytes) -> SegmentRecorder:
        """The segment recorder for this feed, sized by its first key frame."""
        width, height = frame_size(self.codec, keyframe) or (1280, 720)
        codec, container, extension = SEGMENT_FORMATS[self.codec]
        return SegmentRecorder(
            self.directory,
            self.name,
            VideoParams(
                codec=codec,
                width=width - width % 2,
                height=height - height % 2,
                container=container,
                extension=extension,
                time_base=ISO_TIME_BASE,
                # Matroska and MP4 describe H.264 by its parameter sets (avcC), which the
                # studio sends with every key frame.
                extradata=(
                    h264_parameter_sets(keyframe) if self.codec is VideoCodec.H264 else None
                ),
            ),
            audio=AudioParams(codec="opus", time_base=ISO_TIME_BASE, extradata=opus_head()),
        )

    def on_audio_packet(self, packet: RtpPacket) -> None:
        """A packet of the studio's sound (one Opus frame), as it arrives (event loop)."""
        # A sound packet's RTP time is its first sample's, and it cannot leave the studio
        # before its last sample was heard: it arrives at least its own length after its
        # time, where a picture leaves right after its one instant. Anchored as if it came
        # that much earlier, the sound is not recorded late by a packet (20 ms).
        arrived = self._now_ms() - opus_packet_ms(packet.payload)
        pts = self._audio_time.stamp(packet.ssrc, packet.timestamp, arrived)
        if self.recorder is None or not packet.payload:
            return  # before the first picture (the file starts there)
        if packet.ssrc == self._last_audio_ssrc and self._last_audio_rtp is not None:
            ahead = (packet.timestamp - self._last_audio_rtp) % TS_MOD
            if ahead == 0 or ahead >= TS_MOD // 2:
                return  # a duplicate, or late (its place in the file has passed)
        # In order, even while the anchor settles (a packet's stamp may then step back).
        pts = max(self._last_audio_pts + 1, pts)
        self._last_audio_pts = pts
        self._last_audio_rtp, self._last_audio_ssrc = packet.timestamp, packet.ssrc
        out = av.Packet(packet.payload)
        out.pts = out.dts = pts
        out.time_base = ISO_TIME_BASE
        out.is_keyframe = True
        self.recorder.write_audio(out)

    def segments(self) -> list[Path]:
        """The segments written so far."""
        return self.recorder.segments() if self.recorder is not None else []

    def close(self) -> None:
        """Write what is queued and close the current segment (blocking: off the loop)."""
        if self.recorder is not None:
            self.recorder.close()
