"""What master control shows of a room: its booking's times, its studios, program, recorders
and live outputs.

An open room carries the bridge's figures as they are (typed: `bridge.spec`); a room starting
within the hour, not open yet, only who is booked. `web.live.live_json` turns both into the
JSON of `/api/live` and `/ws/monitor`; the alerts and `/metrics` read them as they are.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from bridge.spec import (
    OutputFigures,
    ProgramFigures,
    ProgramState,
    RecorderFigures,
    StudioHealth,
    StudioSpec,
)

BEHIND_RTF = 0.9  # a recorder working 90% of real time is about to fall behind


@dataclass(frozen=True)
class RecorderSummary:
    """A room's recorders summed up: the program's and every studio's own (ISO)."""

    files: int
    duration_s: float | None  # of the program's recording
    bytes: int
    frames_dropped: int
    realtime_factor: float  # the slowest recorder's
    behind: bool  # some recorder is about to fall behind real time


@dataclass(frozen=True)
class OutputView:
    """A live output of the room's booking as master control shows it: what the booking stored,
    without its secrets (name, masked target), and the bridge's figures (idle while the room
    has not started it). Built by the monitor, the one place that sees the stored output, so
    nothing downstream (JSON, alerts, metrics) can leak a stream key or a passphrase."""

    id: str
    name: str
    target: str  # masked: no stream key, passphrase, credentials or query values
    figures: OutputFigures  # its last_error scrubbed of the output's secrets too


@dataclass(frozen=True)
class RoomView:
    """One room on master control's screen."""

    booking_id: str
    title: str
    state: str  # upcoming | line_check | on_air | teardown
    open: bool
    opens_at: datetime
    on_air_at: datetime
    off_air_at: datetime
    recording: bool = False
    should_record: bool = False
    recorder: RecorderSummary | None = None
    program: ProgramFigures | None = None
    # What is on air (layout, solo studio) and the studios the producer has muted: master
    # control shows each room's program state next to its health.
    on_air: ProgramState | None = None
    muted: tuple[str, ...] = ()
    studios: tuple[StudioHealth, ...] = ()  # an open room's studios
    booked: tuple[StudioSpec, ...] = ()  # a room not open yet: the studios booked into it
    outputs: tuple[OutputView, ...] = ()  # an open room's booking's live outputs, as added
    thumbnails: Mapping[str, int] = field(default_factory=dict)  # studio id -> its version


def summarize(recorders: Sequence[RecorderFigures]) -> RecorderSummary | None:
    """The recorders summed up (None while not recording)."""
    if not recorders:
        return None
    program = next((r for r in recorders if r.kind == "program"), None)
    return RecorderSummary(
        files=len(recorders),
        duration_s=program.media_seconds if program is not None else None,
        bytes=sum(r.bytes for r in recorders),
        frames_dropped=sum(r.frames_dropped for r in recorders),
        realtime_factor=max(r.realtime_factor for r in recorders),
        behind=any(r.realtime_factor > BEHIND_RTF for r in recorders),
    )
