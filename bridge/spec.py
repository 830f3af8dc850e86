"""Plain data between `web` and `bridge`: what a room is for, and what happens in it."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Literal


@dataclass(frozen=True)
class QualityProfile:
    """What a studio's camera should send: resolution, frame rate, bitrate range."""

    width: int = 1280
    height: int = 720
    fps: int = 30
    min_kbps: int = 1500
    start_kbps: int = 2000
    max_kbps: int = 2500


@dataclass(frozen=True)
class StudioSpec:
    """A studio in a room."""

    id: str
    name: str


@dataclass(frozen=True)
class IceServer:
    """A STUN or TURN server handed to every peer connection of a room (web hands STUN only)."""

    urls: str
    username: str | None = None
    credential: str | None = None


@dataclass(frozen=True)
class RoomSpec:
    """Everything the bridge needs to run one booking's room; built by `web` from a booking."""

    booking_id: str
    title: str
    studios: tuple[StudioSpec, ...]
    opens_at: datetime
    on_air_at: datetime
    off_air_at: datetime
    closes_at: datetime
    quality: QualityProfile = field(default_factory=QualityProfile)
    ice_servers: tuple[IceServer, ...] = ()
    program: bool = False  # compose (decode, lay out, encode) the joint program
    # The layout the booking asked for: the program starts in it (solo and picture-in-picture
    # on the first studio); the producer switches from there.
    layout: str = "auto"

    def studio(self, studio_id: str) -> StudioSpec | None:
        """The studio with this id, if it is in the room."""
        return next((s for s in self.studios if s.id == studio_id), None)


class EventKind(enum.StrEnum):
    """What the bridge reports."""

    STUDIO_JOINED = "studio_joined"
    STUDIO_LEFT = "studio_left"
    FEED_LOST = "feed_lost"
    FEED_RESTORED = "feed_restored"
    RECORDING_STARTED = "recording_started"
    RECORDING_FINISHED = "recording_finished"
    PROGRAM_SWITCHED = "program_switched"
    AUDIO_CHANGED = "audio_changed"
    OUTPUT_CHANGED = "output_changed"  # an output's state changed (studio_id is "")


@dataclass(frozen=True)
class RoomEvent:
    """Something that happened in a room, as plain data for `web` to store and push."""

    booking_id: str
    kind: EventKind
    studio_id: str
    at: datetime
    details: dict[str, object] = field(default_factory=dict)


# --- what the bridge reports of a live room (typed, like aiortc's RTC*Stats) ---------------


@dataclass(frozen=True)
class VideoFigures:
    """A studio's incoming picture over the last window (about a second)."""

    width: int | None  # from the last key frame (VP8) or SPS (H.264); None before the first
    height: int | None
    fps: float | None
    kbps: float
    codec: str | None = None  # as people name it: "VP8", "H.264"


@dataclass(frozen=True)
class AudioFigures:
    """A studio's incoming sound over the last window."""

    kbps: float
    level_dbfs: float | None  # the RFC 6464 level (else the mixer's); None in silence


@dataclass(frozen=True)
class StudioHealth:
    """One studio of a room as master control sees it over the last window."""

    id: str
    name: str
    connected: bool
    candidate: str | None  # the remote side of the selected ICE pair: host, srflx, prflx, relay
    rtt_ms: float | None
    loss_pct: float | None
    jitter_ms: float | None
    video: VideoFigures | None
    audio: AudioFigures | None
    last_packet_age_ms: float | None
    feed_lost: bool


@dataclass(frozen=True)
class ProgramFigures:
    """What the program's picture and sound engines have done since the room opened."""

    frames: int
    dropped_ticks: int  # frame clock ticks that found the worker still busy
    realtime_factor: float  # worker seconds per second of program
    audio_blocks: int
    audio_dropped_blocks: int  # blocks missing from the program's sound
    audio_underruns: int  # times a studio's sound ran dry in the mixer
    # Whether the picture is composed now: only while something uses the program (a
    # recording, an output, a console's return feed, a control room); the sound always runs.
    composing: bool = True


FileKind = Literal["program", "iso"]  # the joint program, or one studio's own feed (ISO)


@dataclass(frozen=True)
class RecorderFigures:
    """What one recorder (the program's, or a studio's ISO) has written and dropped."""

    kind: FileKind
    studio_id: str | None  # the ISO's studio; None for the program
    frames: int
    frames_dropped: int
    audio_packets: int
    audio_dropped: int
    segments: int
    bytes: int
    media_seconds: float
    realtime_factor: float  # writer seconds per second of media (below 1.0: keeping up)


class OutputKind(enum.StrEnum):
    """Where a live output takes the program."""

    RTMP = "rtmp"  # push to rtmp:// or rtmps:// (FLV)
    SRT = "srt"  # MPEG-TS over SRT, as caller or listener
    HLS = "hls"  # segments and a playlist served by Telebridge itself


class OutputState(enum.StrEnum):
    """Where a live output is."""

    IDLE = "idle"  # not started
    CONNECTING = "connecting"  # started; the destination has not taken anything yet
    LIVE = "live"  # the destination takes the program
    RETRYING = "retrying"  # the connection broke or stalled; waiting to try again (backoff)
    FAILED = "failed"  # stopped without having reached the destination (last_error says why)
    STOPPED = "stopped"  # stopped by hand or at the end of the show


@dataclass(frozen=True)
class OutputTarget:
    """A live output as the bridge needs it (web builds it from the booking's output)."""

    id: str
    kind: OutputKind
    url: str = ""  # rtmp(s)://host[:port]/app, srt://host:port or srt://:port (listener)
    key: str | None = None  # RTMP stream key (appended to the URL as its last path part)
    passphrase: str | None = None  # SRT encryption (10 to 79 characters)
    latency_ms: int | None = None  # SRT latency
    listener: bool = False  # SRT: wait on the server's port for the destination to call


@dataclass(frozen=True)
class OutputFigures:
    """A live output's state, as master control sees it (never a secret)."""

    id: str
    kind: OutputKind
    state: OutputState
    bitrate_kbps: float | None = None  # over the last window, while live
    last_error: str | None = None
    retries: int = 0  # connection attempts after the first
    live_seconds: float = 0.0  # since it last went live


@dataclass(frozen=True)
class RoomHealth:
    """A room's figures over the last window: its studios, program and recorders."""

    booking_id: str
    studios: tuple[StudioHealth, ...]
    program: ProgramFigures | None  # None for a room that composes no program
    recorders: tuple[RecorderFigures, ...]  # empty while not recording
    outputs: tuple[OutputFigures, ...] = ()  # the live outputs started in the room


@dataclass(frozen=True)
class StudioAudio:
    """A studio in the program's sound: the producer's gain and mute, the automatic gain,
    and the level of the last mixed block."""

    gain_db: float
    muted: bool
    auto_db: float
    level_dbfs: float | None  # None for silence
    # The studio's operator has switched its microphone off at the console (the cough key):
    # the silence is theirs, and the producer's desk says so.
    mic_off: bool = False


@dataclass(frozen=True)
class ProgramState:
    """What is on air: the layout, its solo or picture-in-picture studio, whether it records."""

    layout: str
    studio: str | None  # only for the layouts that show one studio large
    recording: bool


Corner = Literal["top-left", "top-right", "bottom-left", "bottom-right"]
CORNERS: tuple[Corner, ...] = ("top-left", "top-right", "bottom-left", "bottom-right")


@dataclass(frozen=True)
class LowerThirdState:
    """A studio's lower third in the program: its text, and whether it is shown."""

    studio_id: str
    name: str
    title: str
    visible: bool


@dataclass(frozen=True)
class GraphicsState:
    """What the program's graphics show (or are fading to): the lower thirds in program
    order, the logo and its corner, the clock's zone (None: no clock) and label."""

    lower_thirds: tuple[LowerThirdState, ...]
    logo: bool
    corner: Corner
    clock_zone: str | None
    clock_label: str


@dataclass(frozen=True)
class Tally:
    """What a studio's console shows: is its picture in the program, does the room record,
    and which partners it should show now."""

    on_program: bool
    layout: str | None  # None for a room that composes no program
    recording: bool
    # The room's other studios, in its order: a console offers a receive pair per partner,
    # so one added to the booking while it is connected is seen only after it offers again.
    partners: tuple[StudioSpec, ...] = ()
    # Partners whose video codec this console did not negotiate (partner id -> "H.264"): it
    # says so instead of showing a black tile.
    unplayable: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RecordedFile:
    """A finished file of a recording: the program's MP4, or a studio's own feed (ISO)."""

    kind: FileKind
    studio_id: str | None  # the ISO's studio; None for the program
    name: str  # the file's name in the recording's directory
    media_type: str
    bytes: int
    sha256: str
    duration_s: float
    path: Path
