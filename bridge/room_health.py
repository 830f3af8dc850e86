"""What a room reports about itself: each studio's health over the last window, the program's
figures, a studio's thumbnail, and what a finished recording's event tells."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

import av
from PIL import Image

from bridge.aiortc_hooks import candidate_types
from bridge.program.mixer import SILENCE_DBFS
from bridge.program.production import Production
from bridge.spec import (
    AudioFigures,
    ProgramFigures,
    RecordedFile,
    RecorderFigures,
    StudioAudio,
    StudioHealth,
    VideoFigures,
)

if TYPE_CHECKING:  # the room asks; this module only reads it
    from bridge.room import Room

FEED_LOST_AFTER = 2.0  # seconds without a packet before a studio's feed counts as lost


def studio_audio(production: Production | None) -> dict[str, StudioAudio]:
    """Per studio: the producer's gain and mute, the automatic gain, the last block's level
    and the studio's own microphone key — what the producer's sound desk shows (empty without
    a program)."""
    if production is None:
        return {}
    return {
        sid: StudioAudio(
            gain_db=ch.gain_db,
            muted=ch.muted,
            auto_db=round(ch.auto_db, 1),
            level_dbfs=round(ch.level_dbfs, 1) if ch.level_dbfs > SILENCE_DBFS else None,
            mic_off=ch.mic_off,
        )
        for sid, ch in production.audio.mixer.channels.items()
    }


def jpeg_of(frame: av.VideoFrame, width: int) -> bytes:
    """A small JPEG of a video frame (worker thread)."""
    image = Image.fromarray(frame.to_ndarray(format="rgb24"))
    height = max(2, round(image.height * width / image.width))
    out = io.BytesIO()
    image.resize((width, height)).save(out, format="JPEG", quality=70)
    return out.getvalue()


def finished_details(figures: RecorderFigures | None, f: RecordedFile) -> dict[str, object]:
    """What a recording_finished event tells: the recorder's counters first, then the file
    (its own size and length win over the segments' running totals of the same name)."""
    counters: dict[str, object] = {}
    if figures is not None:
        counters = {
            "frames": figures.frames,
            "frames_dropped": figures.frames_dropped,
            "audio_packets": figures.audio_packets,
            "audio_dropped": figures.audio_dropped,
            "segments": figures.segments,
            "bytes": figures.bytes,
            "media_seconds": figures.media_seconds,
            "realtime_factor": figures.realtime_factor,
        }
    return {
        **counters,
        "file": f.kind,
        "path": str(f.path),
        "bytes": f.bytes,
        "sha256": f.sha256,
        "duration_s": round(f.duration_s, 3),
    }


async def studio_health(room: Room, studio_id: str, name: str, now: float) -> StudioHealth:
    """A studio's health over the window since the last call (its meters start the next)."""
    session = room.sessions.get(studio_id)
    video_feed = room.feeds.get((studio_id, "video"))
    audio_feed = room.feeds.get((studio_id, "audio"))
    v = video_feed.meter.window(now) if video_feed is not None else None
    a = audio_feed.meter.window(now) if audio_feed is not None else None
    candidates = candidate_types(session.pc) if session is not None else None
    level = a.level_dbfs if a is not None else None
    if level is None and room.production is not None:  # no RFC 6464 level: the mixer's
        channel = room.production.audio.mixer.channels.get(studio_id)
        if channel is not None and channel.level_dbfs > SILENCE_DBFS:
            level = round(channel.level_dbfs, 1)
    codec = video_feed.codec.label if video_feed is not None and video_feed.codec else None
    ages = [w.last_packet_age_ms for w in (v, a) if w and w.last_packet_age_ms is not None]
    silent = room.silent_for(studio_id, now)
    main = v or a
    return StudioHealth(
        id=studio_id,
        name=name,
        connected=session is not None and session.connection_state == "connected",
        candidate=candidates[1] if candidates else None,
        rtt_ms=await session.round_trip_ms() if session is not None else None,
        loss_pct=main.loss_pct if main else None,
        jitter_ms=main.jitter_ms if main else None,
        video=VideoFigures(v.width, v.height, v.fps, v.kbps, codec) if v else None,
        audio=AudioFigures(a.kbps, level) if a else None,
        last_packet_age_ms=min(ages) if ages else None,
        # The watchdog's verdict may be up to one interval behind the age shown beside it.
        feed_lost=studio_id in room.lost or (silent is not None and silent > FEED_LOST_AFTER),
    )


def program_figures(production: Production | None) -> ProgramFigures | None:
    """What the program's engines have done (None for a room without a program)."""
    if production is None:
        return None
    engine, audio = production.engine, production.audio
    return ProgramFigures(
        frames=engine.counters.frames,
        dropped_ticks=engine.clock.dropped,
        realtime_factor=round(engine.counters.realtime_factor(engine.fmt.fps), 3),
        audio_blocks=audio.counters.blocks,
        audio_dropped_blocks=audio.counters.dropped_blocks,
        audio_underruns=sum(c.underruns for c in audio.mixer.channels.values()),
        composing=engine.composing,
    )
