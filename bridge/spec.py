"""Plain data between `web` and `bridge`: what a room is for, and what happens in it."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime


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


@dataclass(frozen=True)
class RoomEvent:
    """Something that happened in a room, as plain data for `web` to store and push."""

    booking_id: str
    kind: EventKind
    studio_id: str
    at: datetime
    details: dict[str, object] = field(default_factory=dict)
