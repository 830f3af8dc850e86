"""Where a studio's picture and sound fall on the recording's timeline (milliseconds since the
recording started).

Each stream is first stamped on its own (`RtpTimeline`): its RTP timestamps anchored to the
wall clock by its least delayed packet. That keeps each stream's own spacing, but leaves sound
and picture as far apart as their delays on the way differed: an encoder that is slow to encode
its first seconds delivers its picture late against its sound, and the whole file would keep
that. Once the studio's RTCP sender reports place both streams on its own clock
(bridge.relay.sender_reports), the sound is stamped from the picture's timeline by that clock,
in step as the studio captured them (`StudioTimeline`). The picture is never moved; the sound
moves once, when the reports first arrive.
"""

from __future__ import annotations

from collections.abc import Callable

from bridge.relay.rewrite import TS_MOD
from bridge.relay.sender_reports import SenderReport

VIDEO_RATE = 90000
AUDIO_RATE = 48000
REANCHOR_MS = 500  # an RTP clock this far from the wall clock has jumped: anchor it again
SETTLE_MS = 2000  # a stream's anchor is its least delayed packet of this first stretch


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


class StudioTimeline:
    """A studio's picture and sound on the recording's timeline (see the module's docstring).

    `sender_report` gives the studio's latest sender report of a stream (by SSRC), or None.
    """

    def __init__(self, sender_report: Callable[[int], SenderReport | None]) -> None:
        self.video = RtpTimeline(VIDEO_RATE)
        self.audio = RtpTimeline(AUDIO_RATE)
        self._report = sender_report
        self._offset_ms: float | None = None  # the picture's timeline minus the studio's clock
        self._offset_ssrc: int | None = None  # the picture's stream it was measured on

    def stamp_video(self, ssrc: int, timestamp: int, arrival_ms: float) -> int:
        """The time of a picture's packet (its own stream's timeline, always)."""
        ms = self.video.stamp(ssrc, timestamp, arrival_ms)
        report = self._report(ssrc)
        if report is not None:
            self._offset_ms = ms - report.sent_ms(timestamp, VIDEO_RATE)
            self._offset_ssrc = ssrc
        elif ssrc != self._offset_ssrc:
            self._offset_ms = None  # a new connection: its clock is not known yet
        return ms

    def stamp_audio(self, ssrc: int, timestamp: int, arrival_ms: float) -> int:
        """The time of a sound packet: by the studio's clock against its picture once both
        are reported, by its own stream's timeline until then."""
        own = self.audio.stamp(ssrc, timestamp, arrival_ms)
        report = self._report(ssrc)
        if report is None or self._offset_ms is None:
            return own
        ms = report.sent_ms(timestamp, AUDIO_RATE) + self._offset_ms
        if abs(ms - arrival_ms) > REANCHOR_MS:
            return own  # not on one clock with the picture (another sender's reports)
        return round(ms)
