"""The program's sound: the studios mixed at equal loudness, with gain and mute, and mix-minus.

Each studio's decoded audio is pushed into its own bounded buffer; every block the mixer takes
the same number of samples from each. A buffer is a small jitter buffer: it starts playing once
PREBUFFER_SECONDS have arrived (silence until then, and again after it runs dry, rather than a
block patched with zeros every time a packet is a little late), and one that grows past
MAX_BUFFER_SECONDS (the studio's clock runs fast) is cut back to the prebuffer. While playing,
what a buffer held at least over the last DRAIN_SECONDS is brought back to the prebuffer (a
burst after a stall is not kept queued for good): the studio's sound keeps one delay, and
stays in step with its picture. The mixer
brings each studio towards the same loudness with a slow automatic gain, applies the producer's
gain and mute, and sums. Every studio also gets the mix without its own voice (mix-minus), so
nobody hears themselves back. Pure numpy: run it off the loop.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import av
import numpy as np
from numpy.typing import NDArray

RATE = 48000
TARGET_DBFS = -20.0  # where every studio's speech is brought to
GATE_DBFS = -50.0  # quieter than this is silence: it does not steer the automatic gain
MAX_AUTO_DB = 12.0  # the automatic gain never lifts or cuts more than this
AGC_SECONDS = 3.0  # time constant of the loudness estimate
PREBUFFER_SECONDS = 0.04  # two Opus packets: covers the network's jitter on a good link
MAX_BUFFER_SECONDS = 0.2  # more queued than this means the studio's clock runs fast: drop
DRAIN_SECONDS = 1.0  # the window over which a buffer's low-water mark is taken
DRAIN_SLACK_SECONDS = 0.01  # a low-water mark this far from the prebuffer is brought back to it
SILENCE_DBFS = -120.0  # a block at or below this level is silence: it has no level to show
GAIN_MIN_DB = -40.0  # the producer's gain range for a studio
GAIN_MAX_DB = 20.0

Samples = NDArray[np.float32]


def dbfs(block: Samples) -> float:
    """The RMS level of float samples (full scale 1.0) in dBFS; -inf for silence."""
    rms = float(np.sqrt(np.mean(np.square(block)))) if block.size else 0.0
    return 20 * math.log10(rms) if rms > 0 else -math.inf


def to_float(pcm: NDArray[np.int16]) -> Samples:
    """int16 PCM to float samples in [-1, 1)."""
    return (pcm.astype(np.float32) / 32768.0).reshape(-1)


def mono_samples(frame: av.AudioFrame) -> Samples:
    """A decoded frame as mono float samples (libopus decodes to s16 whatever is asked)."""
    planes = frame.to_ndarray().astype(np.float32)  # fltp: (channels, samples)
    if frame.format.name == "s16":
        planes = planes.reshape(-1, len(frame.layout.channels)).T / 32768.0
    return np.asarray(planes.mean(axis=0), dtype=np.float32)


def to_int16(samples: Samples) -> NDArray[np.int16]:
    """Float samples to int16 PCM, clipped."""
    return np.asarray(np.clip(samples * 32768.0, -32768, 32767), dtype=np.int16)


@dataclass
class Channel:
    """One studio's input to the mix."""

    buffer: Samples = field(default_factory=lambda: np.zeros(0, np.float32))
    gain_db: float = 0.0  # the producer's
    muted: bool = False
    mic_off: bool = False  # the studio's own cough key: told by its console, shown on the desk
    loudness_db: float = TARGET_DBFS  # the running estimate the automatic gain works from
    auto_db: float = 0.0
    level_dbfs: float = -math.inf  # of the last block, for meters
    dropped: int = 0  # samples dropped because the buffer overflowed or held too much
    cuts: int = 0  # times samples were dropped or silence put in to hold the delay
    playing: bool = False  # the prebuffer has filled; False again after an underrun
    underruns: int = 0
    low_water: int = -1  # the least buffered before a block in this drain window (-1: none)
    window: int = 0  # samples played in this drain window


class AudioMixer:
    """Mixes studios block by block; `mix` returns the program and every mix-minus."""

    def __init__(self, studio_ids: Sequence[str], rate: int = RATE) -> None:
        self.rate = rate
        self.channels = {sid: Channel() for sid in studio_ids}
        self._max_buffer = int(MAX_BUFFER_SECONDS * rate)
        self._prebuffer = int(PREBUFFER_SECONDS * rate)
        self._drain_window = int(DRAIN_SECONDS * rate)
        self._drain_slack = int(DRAIN_SLACK_SECONDS * rate)

    # The channels dict is replaced, never changed in place: the block clock's worker mixes
    # from it while the event loop adds or removes a studio (and reads the levels).

    def add(self, studio_id: str) -> None:
        """Mix a studio in from the next block (a no-op for one already here)."""
        if studio_id not in self.channels:
            self.channels = {**self.channels, studio_id: Channel()}

    def remove(self, studio_id: str) -> None:
        """Leave a studio out of the mix from the next block."""
        self.channels = {sid: ch for sid, ch in self.channels.items() if sid != studio_id}

    def push(self, studio_id: str, samples: Samples) -> None:
        """A studio's newest mono samples (floats); overflow drops the oldest."""
        ch = self.channels.get(studio_id)
        if ch is None:
            return
        ch.buffer = np.concatenate([ch.buffer, samples.astype(np.float32, copy=False)])
        if ch.buffer.size > self._max_buffer:  # back to the prebuffer: latency stays low
            excess = ch.buffer.size - self._prebuffer
            ch.buffer = ch.buffer[excess:]
            ch.dropped += excess
            ch.cuts += 1

    def spare_blocks(self, wanted: int, count: int) -> int:
        """How many of `wanted` blocks of `count` samples can be mixed now, ahead of the next
        one, without taking any playing studio's buffer below what the jitter buffer holds
        before a block (less the slack `_hold` allows it): samples that have arrived and only
        wait (a block the clock's worker was too busy to mix), never samples that are late."""
        held = max(self._prebuffer, count)
        for ch in self.channels.values():
            if ch.playing or ch.buffer.size >= held:  # playing, or starting with the next block
                spare = (ch.buffer.size - held + self._drain_slack) // count
                wanted = min(wanted, max(0, spare))
        return wanted

    def set_gain(self, studio_id: str, gain_db: float, muted: bool | None = None) -> None:
        """The producer's gain (dB, clamped to GAIN_MIN_DB..GAIN_MAX_DB) and mute for a studio."""
        ch = self.channels[studio_id]
        ch.gain_db = max(GAIN_MIN_DB, min(GAIN_MAX_DB, gain_db))
        if muted is not None:
            ch.muted = muted

    def mix(self, count: int) -> tuple[Samples, dict[str, Samples]]:
        """The next `count` samples: (program, {studio: program without that studio})."""
        contributions: dict[str, Samples] = {}
        for sid, ch in self.channels.items():
            if not ch.playing and ch.buffer.size >= max(self._prebuffer, count):
                ch.playing = True
            if ch.playing and ch.buffer.size < count:  # ran dry: play out, then prebuffer again
                ch.playing = False
                ch.low_water, ch.window = -1, 0
                ch.underruns += 1
                block = np.concatenate([ch.buffer, np.zeros(count - ch.buffer.size, np.float32)])
                ch.buffer = ch.buffer[:0]
            elif ch.playing:
                self._hold(ch, count)
                block, ch.buffer = ch.buffer[:count], ch.buffer[count:]
            else:  # not arrived yet: silence, not a stall
                block = np.zeros(count, np.float32)
            ch.level_dbfs = dbfs(block)
            self._steer(ch, ch.level_dbfs, count)
            if ch.muted:
                contributions[sid] = np.zeros(count, np.float32)
                continue
            gain = 10 ** ((ch.auto_db + ch.gain_db) / 20)
            contributions[sid] = block * np.float32(gain)
        program = np.zeros(count, np.float32)
        for part in contributions.values():
            program += part
        minus = {sid: _limit(program - part) for sid, part in contributions.items()}
        return _limit(program), minus

    def _hold(self, ch: Channel, count: int) -> None:
        """Keep a playing buffer's delay at the prebuffer, whatever the arrivals did to it.

        Whatever arrives in a burst (after a stall) would otherwise stay queued for good, and
        the studio's sound would lag its picture by that much from then on; and where playing
        happened to start decides how much of the prebuffer is really held. The least held
        before a block over DRAIN_SECONDS is what the jitter did not use: when it is more than
        the slack away from the prebuffer, that much of the oldest audio is dropped (or that
        much silence put before it), once.
        """
        ch.low_water = ch.buffer.size if ch.low_water < 0 else min(ch.low_water, ch.buffer.size)
        ch.window += count
        if ch.window < self._drain_window:
            return
        excess = ch.low_water - max(self._prebuffer, count)
        ch.low_water, ch.window = -1, 0
        if excess > self._drain_slack:
            ch.buffer = ch.buffer[excess:]
            ch.dropped += excess
            ch.cuts += 1
        elif excess < -self._drain_slack:
            ch.buffer = np.concatenate([np.zeros(-excess, np.float32), ch.buffer])
            ch.cuts += 1

    def _steer(self, ch: Channel, level: float, count: int) -> None:
        """Move the studio's loudness estimate and automatic gain (speech only, not silence)."""
        if level < GATE_DBFS:
            return
        alpha = 1 - math.exp(-count / (AGC_SECONDS * self.rate))
        ch.loudness_db += alpha * (level - ch.loudness_db)
        ch.auto_db = max(-MAX_AUTO_DB, min(MAX_AUTO_DB, TARGET_DBFS - ch.loudness_db))


KNEE = 0.8  # below this the limiter leaves samples exactly as they are


def _limit(samples: Samples) -> Samples:
    """A soft knee near full scale: untouched below KNEE, bent smoothly towards 1.0 above."""
    magnitude = np.abs(samples)
    over = magnitude > KNEE
    if not over.any():
        return samples
    out = samples.copy()
    bent = KNEE + (1 - KNEE) * np.tanh((magnitude[over] - KNEE) / (1 - KNEE))
    out[over] = np.sign(samples[over]) * bent
    return out
