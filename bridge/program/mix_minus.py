"""A studio's mix-minus as Opus packets, encoded once on the program's sound worker.

Every studio hears a different mix (everyone but itself, plus the producers who talk to it), so
each mix is encoded once, for however many connections take it. The mixer works in AAC-sized
blocks of 1024 samples, Opus in 20 ms frames of 960: the blocks are re-framed here, so each
frame makes exactly one packet with its own timestamp (aiortc's encoder, fed a block, sent both
packets of a two-frame block with one timestamp: 20 ms lost at the receiver three times a
second). Encoding here rather than in each connection's aiortc sender also spares the event loop
a task, an executor round trip and aiortc's audio level, computed in Python, for every packet.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

import av
import numpy as np
from numpy.typing import NDArray

from bridge.program.mixer import RATE

OPUS_FRAME = 960  # samples of one 20 ms Opus packet at 48 kHz
OPUS_KBPS = 64  # mono, CELT only: transparent for voices and program sound
SILENCE_DBOV = 127  # the quietest level RFC 6464 can say


@dataclass(frozen=True)
class SoundPacket:
    """One Opus packet of a mix: its payload, RTP timestamp (48 kHz) and level (RFC 6464:
    dB below full scale, 0 loudest to 127)."""

    payload: bytes
    timestamp: int
    level: int


def level_dbov(samples: NDArray[np.int16]) -> int:
    """The RMS level of 16-bit samples in dB below full scale (0-127), as RFC 6464 carries it."""
    if samples.size == 0:
        return SILENCE_DBOV
    rms = math.sqrt(float(np.mean(np.square(samples, dtype=np.float64))))
    if rms < 1.0:
        return SILENCE_DBOV
    return min(SILENCE_DBOV, max(0, round(-20 * math.log10(rms / 32768))))


def _opus_encoder() -> av.AudioCodecContext:
    codec = av.CodecContext.create("libopus", "w")
    assert isinstance(codec, av.AudioCodecContext)
    codec.sample_rate = RATE
    codec.layout = "mono"
    codec.format = "s16"
    codec.bit_rate = OPUS_KBPS * 1000
    codec.time_base = Fraction(1, RATE)
    # The studio talks back over what it hears: the lowest delay Opus has (2.5 ms look-ahead).
    codec.options = {"application": "lowdelay"}
    codec.open()
    return codec


class MixMinusEncoder:
    """One mix, block by block in, one Opus packet per 20 ms out (worker thread only)."""

    def __init__(self, first_timestamp: int) -> None:
        self._codec = _opus_encoder()
        self._pending: NDArray[np.int16] = np.empty(0, dtype=np.int16)  # < 960 + one block
        self._timestamp = first_timestamp

    def encode(self, samples: NDArray[np.int16]) -> list[SoundPacket]:
        """The packets of every whole 20 ms frame there is with `samples` added (mono s16)."""
        self._pending = np.concatenate([self._pending, samples.reshape(-1)])
        packets: list[SoundPacket] = []
        while self._pending.size >= OPUS_FRAME:
            chunk, self._pending = self._pending[:OPUS_FRAME], self._pending[OPUS_FRAME:]
            frame = av.AudioFrame.from_ndarray(chunk.reshape(1, -1), format="s16", layout="mono")
            frame.sample_rate, frame.time_base = RATE, self._codec.time_base
            frame.pts = self._timestamp
            level = level_dbov(chunk)
            for packet in self._codec.encode(frame):
                packets.append(SoundPacket(bytes(packet), self._timestamp, level))
            self._timestamp += OPUS_FRAME
        return packets
