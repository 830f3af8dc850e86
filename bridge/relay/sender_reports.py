"""RTCP sender reports: where a stream's RTP timestamps fall on its sender's own clock.

Every sender (a browser, an encoder) reports now and then, for each stream it sends, one RTP
timestamp and the wall-clock (NTP) time of the same instant, on one clock for all its streams.
That is how a receiver puts a studio's sound and picture back in step however differently each
was delayed on the way (RFC 3550, 6.4.1). A feed keeps its streams' latest reports
(`SenderReports`); the ISO recorder stamps a studio's sound by them against its picture
(bridge.recording.timeline).
"""

from __future__ import annotations

from dataclasses import dataclass

from bridge.relay.rewrite import TS_MOD

NTP_FRACTION = 1 << 32  # an NTP timestamp: seconds since 1900 (high 32 bits) and fraction
STREAMS_KEPT = 4  # a receiver's media stream and its retransmissions; a reconnect's new ones


@dataclass(frozen=True)
class SenderReport:
    """One stream's RTP timestamp and its sender's clock at the same instant."""

    ntp_ms: float  # the sender's wall clock, in milliseconds since 1900
    rtp_timestamp: int

    @classmethod
    def from_rtcp(cls, ntp_timestamp: int, rtp_timestamp: int) -> SenderReport:
        seconds, fraction = ntp_timestamp >> 32, ntp_timestamp & (NTP_FRACTION - 1)
        return cls(seconds * 1000 + fraction * 1000 / NTP_FRACTION, rtp_timestamp)

    def sent_ms(self, timestamp: int, clock_rate: int) -> float:
        """The sender's clock at the instant of RTP `timestamp` (a little before or after the
        report's own, within half the RTP clock's range), in milliseconds."""
        delta = (timestamp - self.rtp_timestamp) % TS_MOD
        if delta >= TS_MOD // 2:
            delta -= TS_MOD
        return self.ntp_ms + delta * 1000 / clock_rate


class SenderReports:
    """The latest report of each of a receiver's streams (a few at most)."""

    def __init__(self) -> None:
        self._by_ssrc: dict[int, SenderReport] = {}

    def add(self, ssrc: int, ntp_timestamp: int, rtp_timestamp: int) -> None:
        self._by_ssrc.pop(ssrc, None)
        if len(self._by_ssrc) >= STREAMS_KEPT:  # the oldest stream's goes (a reconnect's)
            self._by_ssrc.pop(next(iter(self._by_ssrc)))
        self._by_ssrc[ssrc] = SenderReport.from_rtcp(ntp_timestamp, rtp_timestamp)

    def get(self, ssrc: int) -> SenderReport | None:
        return self._by_ssrc.get(ssrc)
