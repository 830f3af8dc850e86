"""One continuous outgoing RTP stream per subscriber slot, whatever the source does.

A studio that reconnects comes back with a new SSRC, sequence numbers and timestamps; the
partners' decoders must see one stream that simply goes on. The rewriter keeps an offset per
source and re-bases it when the source changes, so retransmissions of older packets map to the
same outgoing numbers as the originals did.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable

SEQ_MOD = 1 << 16
TS_MOD = 1 << 32


def seq_newer(a: int, b: int) -> bool:
    """Whether 16-bit sequence number `a` comes after `b` (RFC 3550 wrap-around)."""
    return a != b and ((a - b) % SEQ_MOD) < SEQ_MOD // 2


class StreamRewriter:
    """Maps (ssrc, sequence number, timestamp) of any source onto one outgoing stream."""

    def __init__(self, clock_rate: int, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.clock_rate = clock_rate
        self.monotonic = monotonic
        self._ssrc: int | None = None
        self._seq_offset = 0
        self._ts_offset = 0
        self._last_seq = random.randrange(SEQ_MOD)
        self._last_ts = random.randrange(TS_MOD)
        self._last_sent = 0.0
        self._started = False

    @property
    def source_ssrc(self) -> int | None:
        """The SSRC of the source currently mapped."""
        return self._ssrc

    def restart(self) -> None:
        """The next packet continues the stream as a new source's would, whatever it is: for a
        source that skipped packets meanwhile (a paused viewer of the program), which must
        not look lost to the subscriber."""
        self._ssrc = None

    def map(self, ssrc: int, sequence_number: int, timestamp: int) -> tuple[int, int]:
        """The outgoing (sequence number, timestamp) of a source packet."""
        now = self.monotonic()
        if ssrc != self._ssrc:
            # A new source continues right after the last packet sent, its clock advanced by
            # the real time that passed, so the subscriber's jitter buffer sees no jump.
            next_seq = (self._last_seq + 1) % SEQ_MOD
            gap = max(1, int((now - self._last_sent) * self.clock_rate)) if self._started else 0
            next_ts = (self._last_ts + gap) % TS_MOD
            self._seq_offset = (next_seq - sequence_number) % SEQ_MOD
            self._ts_offset = (next_ts - timestamp) % TS_MOD
            self._ssrc = ssrc
            self._last_seq = (next_seq - 1) % SEQ_MOD
        out_seq = (sequence_number + self._seq_offset) % SEQ_MOD
        out_ts = (timestamp + self._ts_offset) % TS_MOD
        if not self._started or seq_newer(out_seq, self._last_seq):
            self._last_seq = out_seq
            self._last_ts = out_ts
            self._last_sent = now
            self._started = True
        return out_seq, out_ts
