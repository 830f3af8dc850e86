"""What every live output is: started and stopped by the room, figures for master control."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from bridge.program.audio import ProgramAudio
from bridge.program.engine import ProgramEngine
from bridge.program.tap import PacketSink, ProgramTap
from bridge.spec import OutputFigures, OutputTarget

# 1, 2, 4 ... 30 s between attempts to reach a destination that dropped or stalled.
BACKOFF_FIRST_S = 1.0
BACKOFF_MAX_S = 30.0


def backoff_seconds(attempt: int) -> float:
    """The wait before retry number `attempt` (1 for the first retry)."""
    return min(BACKOFF_MAX_S, BACKOFF_FIRST_S * float(2 ** max(0, attempt - 1)))


@dataclass(frozen=True)
class ProgramSource:
    """The program an output carries: its engines, whose packets a tap hands on."""

    engine: ProgramEngine
    audio: ProgramAudio

    def tap(self, video: PacketSink, audio: PacketSink, user: str) -> ProgramTap:
        """The program's packets from now on (a keyframe first), on a timeline from 0; the
        program is composed for `user` while the tap is open."""
        return ProgramTap(self.engine, self.audio, video, audio, user)


# Called on the event loop whenever an output's state (or last error) changes.
OutputListener = Callable[[OutputFigures], None]


class LiveOutput(Protocol):
    """One output of a room's program."""

    target: OutputTarget

    async def start(self) -> None:
        """Begin (returns at once; connecting, retrying and going live happen behind it)."""

    async def stop(self) -> None:
        """End it and release everything it holds (processes, threads, files)."""

    def figures(self) -> OutputFigures:
        """Its state now."""
