"""A studio's incoming stream measured from its RTP as it arrives: the monitor's figures.

aiortc's getStats mislabels inbound streams (the RTX SSRC is counted, no bitrates), so the
relay keeps its own: packets and bytes, loss from sequence numbers (RFC 3550 A.3, counting a
late or repeated packet, i.e. a retransmission, as not received in time), interarrival jitter
(RFC 3550 A.8), frames per second from marker bits, the picture size from key frame headers
(VP8) or parameter sets (H.264), and the audio level from the RFC 6464 header extension the
browser sends. `window` turns the totals into rates over the time since the last call.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from aiortc.rtp import RtpPacket

from bridge.video_payloads import VideoCodec, keyframe_size

SEQ_MOD = 1 << 16
TS_MOD = 1 << 32


@dataclass(frozen=True)
class StreamWindow:
    """One stream over the last window (about a second)."""

    kbps: float
    fps: float | None  # video only
    loss_pct: float
    jitter_ms: float
    width: int | None
    height: int | None
    level_dbfs: float | None  # audio only; None without the level extension or in silence
    last_packet_age_ms: float | None


class StreamMeter:
    """Counts one incoming RTP stream; `window` reports and restarts the window."""

    def __init__(self, kind: str, clock_rate: int, codec: VideoCodec = VideoCodec.VP8) -> None:
        self.kind = kind
        self.codec = codec  # video: what the picture size is read from
        self.clock_rate = clock_rate
        self.packets = 0
        self.bytes = 0
        self.frames = 0
        self.size: tuple[int, int] | None = None
        self.jitter = 0.0  # in RTP timestamp units, as RFC 3550 keeps it
        self.last_arrival: float | None = None
        self._ssrc: int | None = None
        self._highest: int | None = None  # the highest sequence number of this source
        self._expected = 0  # packets the sources' sequence numbers say were sent
        self._in_order = 0  # packets that arrived in time (not late, not repeated)
        self._transit: float | None = None
        self._level_power = 0.0
        self._level_count = 0
        # what the last window started from
        self._w_bytes = 0
        self._w_frames = 0
        self._w_expected = 0
        self._w_in_order = 0
        self._w_at: float | None = None

    def on_packet(self, packet: RtpPacket, arrival: float) -> None:
        """Count a packet that arrived at `arrival` (seconds, monotonic)."""
        if packet.ssrc != self._ssrc:  # a new source (reconnect): sequence numbers restart
            self._ssrc, self._highest, self._transit = packet.ssrc, None, None
        self.packets += 1
        self.bytes += len(packet.payload)
        self.last_arrival = arrival
        seq = packet.sequence_number
        if self._highest is None:
            self._highest = seq
            self._expected += 1
            self._in_order += 1
        else:
            delta = (seq - self._highest) % SEQ_MOD
            if 0 < delta < SEQ_MOD // 2:
                self._highest = seq
                self._expected += delta
                self._in_order += 1
            # else: late or repeated (a retransmission): does not make up for the loss
        self._update_jitter(packet.timestamp, arrival)
        if self.kind == "video":
            if packet.marker:
                self.frames += 1
            size = keyframe_size(self.codec, packet.payload)
            if size is not None:
                self.size = size
        elif packet.extensions.audio_level is not None:
            _voice, level = packet.extensions.audio_level  # -dBov, 127 is silence
            if level < 127:
                self._level_power += 10 ** (-level / 10)
            self._level_count += 1

    def _update_jitter(self, timestamp: int, arrival: float) -> None:
        transit = arrival * self.clock_rate - timestamp
        if self._transit is not None:
            d = abs(transit - self._transit)
            if d < TS_MOD // 2:  # a wrapped timestamp is not jitter
                self.jitter += (d - self.jitter) / 16
        self._transit = transit

    def window(self, now: float) -> StreamWindow:
        """Rates since the last call (the first call only starts the window)."""
        expected = self._expected
        span = now - self._w_at if self._w_at is not None else 0.0
        d_expected = expected - self._w_expected
        d_in_order = self._in_order - self._w_in_order
        kbps = (self.bytes - self._w_bytes) * 8 / 1000 / span if span > 0 else 0.0
        fps = (self.frames - self._w_frames) / span if span > 0 else 0.0
        loss = max(0.0, 100 * (d_expected - d_in_order) / d_expected) if d_expected > 0 else 0.0
        level = None
        if self._level_count:
            power = self._level_power / self._level_count
            level = round(10 * math.log10(power), 1) if power > 0 else None
        self._level_power, self._level_count = 0.0, 0
        self._w_bytes, self._w_frames, self._w_at = self.bytes, self.frames, now
        self._w_expected, self._w_in_order = expected, self._in_order
        return StreamWindow(
            kbps=round(kbps, 1),
            fps=round(fps, 1) if self.kind == "video" else None,
            loss_pct=round(loss, 2),
            jitter_ms=round(self.jitter / self.clock_rate * 1000, 2),
            width=self.size[0] if self.size else None,
            height=self.size[1] if self.size else None,
            level_dbfs=level,
            last_packet_age_ms=(
                round((now - self.last_arrival) * 1000) if self.last_arrival is not None else None
            ),
        )
