"""The child process that sends a push output's program, as the attempt loop sees it.

A push output (bridge.outputs.push) runs one of two programs per connection attempt: Debian's
ffmpeg (bridge.outputs.ffmpeg) or srt-live-transmit (bridge.outputs.srt_transmit). Each of
those modules declares a `Sender`: its command line, how its reports and last words read, and
the two ways the programs differ at the edges of an attempt. The loop asks the sender, never
which program it runs. `Progress` is what the reports say, in one form for both.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from bridge.outputs.destination import Destination

BITRATE_WINDOW_S = 2.0


@dataclass(frozen=True)
class Sender:
    """One program that can send an output's MPEG-TS (see the module's docstring)."""

    name: str  # as Destination.child names it, and as errors name it
    binary: Path  # where Debian installs it
    package: str  # the Debian package it comes in
    carries: str  # what outputs it sends, in words ("the RTMP outputs")
    args: Callable[[Path, Destination], list[str]]  # the whole command line of one attempt
    read_report: Callable[[Progress, str, float], None]  # one line of its stdout, at a time
    explain: Callable[[Sequence[str], Destination, int | None], str]  # why an attempt ended
    # At stop: it ends the stream cleanly once its input ends (ffmpeg's FLV end and RTMP
    # unpublish), so it is given a moment before SIGTERM. Otherwise SIGTERM is its clean end.
    ends_with_its_input: bool
    # Whether a line of its stderr says the far end is connected (None: it never says). A
    # sender that says so is fed nothing until then: srt-live-transmit drops what it reads
    # before (as listener always, as caller while a slow handshake lasts), and the far end
    # must start on the stream's tables and a key frame, asked for at that moment.
    far_end_connected: Callable[[str], bool] | None = None


class Progress:
    """What a sender reports: bytes written to the destination, and when they last grew."""

    def __init__(self, now: float) -> None:
        self.total = 0
        self.grew_at = now  # the attempt's start counts as the last growth (connect timer)
        self._pending: int | None = None
        # (arrival, the sender's own clock, total): the bitrate is the growth over the sender's
        # clock, because reports written into a pipe arrive in bursts (several at one time).
        # Enough of them for the whole window: srt-live-transmit reports a dozen times a
        # second at 3 Mb/s, and a window shorter than a GOP reads a key frame as the bitrate.
        self._samples: deque[tuple[float, float, int]] = deque(maxlen=128)

    def line(self, text: str, now: float) -> None:
        """One `key=value` line of ffmpeg's `-progress` report."""
        key, _, value = text.strip().partition("=")
        if key == "total_size":
            self._pending = int(value) if value.isdigit() else None
        elif key == "progress" and self._pending is not None:
            self.sent(self._pending, now)
            self._pending = None

    def sent(self, total: int, now: float, reported_at: float | None = None) -> None:
        """A report of `total` bytes written to the destination so far, read at `now`;
        `reported_at`: when the sender wrote it, in seconds on its own clock, if it says."""
        if total > self.total:
            self.total, self.grew_at = total, now
        self._samples.append((now, now if reported_at is None else reported_at, self.total))

    def kbps(self, now: float) -> float | None:
        """The bitrate to the destination over the last window."""
        recent = [s for s in self._samples if now - s[0] <= BITRATE_WINDOW_S + 0.5]
        if len(recent) < 2 or recent[-1][1] <= recent[0][1]:
            return None
        (_, t0, b0), (_, t1, b1) = recent[0], recent[-1]
        return round((b1 - b0) * 8 / (t1 - t0) / 1000, 1)


_PREFIX = re.compile(r"^\[[\w\-]+ @ 0x[0-9a-f]+\]\s*")
_SRT_LOG = re.compile(r"^\d\d:\d\d:\d\d\.\d+/SRT:\S+\s+\S+:\s*")


def last_words(child: str, lines: Sequence[str], exit_code: int | None) -> str:
    """A child's last line (without its logger's prefix), when no known error explains it."""
    for line in reversed(lines):
        said = _SRT_LOG.sub("", _PREFIX.sub("", line)).strip()
        if said:
            return f"{child}: {said[:200]}"
    return f"{child} ended (exit code {exit_code})"
