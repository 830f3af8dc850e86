"""Talkback (IFB): a producer's voice into chosen studios' ears, never into the program.

Each control room connection may send its microphone. Its Opus packets queue in a bounded
inbox like a studio's; the program's audio worker decodes them into the talker's own small
buffer and, block by block, adds them to the mix-minus of the studios the talker has chosen,
with that mix-minus lowered by DUCK_DB while the talker holds the button (so the operator
hears the producer over the partners). The program mix, the recording and the outputs are
made before this step and never contain it.

What the event loop changes (talkers, targets) is replaced, never changed in place: the
worker reads it while the loop writes it.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field

import av
import numpy as np

from bridge.program.mixer import RATE, Samples, mono_samples

DUCK_DB = -12.0  # the program return under the producer's voice
DUCK_GAIN = np.float32(10 ** (DUCK_DB / 20))
INBOX_PACKETS = 50  # one second of 20 ms Opus packets per talker
PREBUFFER = int(0.04 * RATE)  # two Opus packets, as for a studio
MAX_BUFFER = int(0.2 * RATE)  # more than this is a clock running fast: back to the prebuffer


@dataclass
class Talker:
    """One control room connection's microphone."""

    name: str  # who talks, as the consoles show it
    targets: frozenset[str] = frozenset()  # the studios it talks to now (empty: not talking)
    inbox: deque[bytes] = field(default_factory=lambda: deque(maxlen=INBOX_PACKETS))
    buffer: Samples = field(default_factory=lambda: np.zeros(0, np.float32))
    playing: bool = False
    ssrc: int | None = None
    decoder: av.AudioCodecContext | None = None


def _opus_decoder() -> av.AudioCodecContext:
    codec = av.CodecContext.create("libopus", "r")
    assert isinstance(codec, av.AudioCodecContext)
    codec.format = "fltp"
    codec.layout = "mono"
    codec.sample_rate = RATE
    return codec


class Talkback:
    """Every talker of a room, and what their voices add to each studio's mix-minus."""

    def __init__(self) -> None:
        self.talkers: Mapping[str, Talker] = {}
        self.decode_errors = 0

    # --- event loop ----------------------------------------------------------------------

    def add(self, talker_id: str, name: str) -> None:
        """A control room connection that may talk (silent until `talk`)."""
        if talker_id not in self.talkers:
            self.talkers = {**self.talkers, talker_id: Talker(name)}

    def remove(self, talker_id: str) -> None:
        """The connection ended: its voice stops from the next block."""
        self.talkers = {k: t for k, t in self.talkers.items() if k != talker_id}

    def talk(self, talker_id: str, studios: Collection[str]) -> None:
        """Talk to `studios` from the next block (empty: stop talking)."""
        talker = self.talkers.get(talker_id)
        if talker is not None:
            talker.targets = frozenset(studios)

    def on_packet(self, talker_id: str, ssrc: int, payload: bytes) -> None:
        """A talker's Opus packet as it arrives (only queues it)."""
        talker = self.talkers.get(talker_id)
        if talker is None or not payload:
            return
        if talker.ssrc != ssrc:  # a new stream: the worker starts a fresh decoder
            talker.ssrc = ssrc
            talker.inbox.append(b"")
        talker.inbox.append(payload)

    def talking_to(self, studio_id: str) -> list[str]:
        """Who is talking to a studio now (the names its console shows)."""
        return [t.name for t in self.talkers.values() if studio_id in t.targets]

    # --- the audio worker ----------------------------------------------------------------

    def decode(self) -> None:
        """Decode what arrived into each talker's buffer (worker thread)."""
        for talker in self.talkers.values():
            while talker.inbox:
                payload = talker.inbox.popleft()
                if not payload:
                    talker.decoder = None
                    continue
                if talker.decoder is None:
                    talker.decoder = _opus_decoder()
                try:
                    for frame in talker.decoder.decode(av.Packet(payload)):
                        talker.buffer = np.concatenate([talker.buffer, mono_samples(frame)])
                except av.FFmpegError:
                    self.decode_errors += 1
            if talker.buffer.size > MAX_BUFFER:
                talker.buffer = talker.buffer[-PREBUFFER:]

    def apply(self, minus: dict[str, Samples], count: int) -> None:
        """Take the next `count` samples of every talker, and put each voice into the
        mix-minus of the studios it talks to, over a ducked return (worker thread)."""
        voices: dict[str, Samples] = {}
        for talker in self.talkers.values():
            block = self._take(talker, count)
            for sid in talker.targets:
                if sid in voices:
                    voices[sid] = voices[sid] + block
                else:
                    voices[sid] = block
        for sid, voice in voices.items():
            if sid in minus:
                minus[sid] = np.clip(minus[sid] * DUCK_GAIN + voice, -1.0, 1.0)

    @staticmethod
    def _take(talker: Talker, count: int) -> Samples:
        if not talker.playing and talker.buffer.size >= max(PREBUFFER, count):
            talker.playing = True
        if not talker.playing:
            return np.zeros(count, np.float32)
        if talker.buffer.size < count:  # ran dry: play out what is there, prebuffer again
            talker.playing = False
            block = np.concatenate([talker.buffer, np.zeros(count - talker.buffer.size)])
            talker.buffer = talker.buffer[:0]
            return block.astype(np.float32)
        block, talker.buffer = talker.buffer[:count], talker.buffer[count:]
        return block
